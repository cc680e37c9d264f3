//! The firmware's throttling bit mask (`get_throttled`) and the two ways it is printed.
//!
//! Pure functions only: reading the files and running `vcgencmd` live in the parent module.

use std::num::ParseIntError;

/// One condition the firmware reports; bit `n` is "now", bit `n + 16` "since boot".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Condition {
    UnderVoltage,
    ArmFrequencyCapped,
    Throttled,
    SoftTemperatureLimit,
}

impl Condition {
    /// Every condition, in bit order.
    pub(super) const ALL: [Self; 4] =
        [Self::UnderVoltage, Self::ArmFrequencyCapped, Self::Throttled, Self::SoftTemperatureLimit];

    /// The `condition` label value.
    pub(super) const fn label(self) -> &'static str {
        match self {
            Self::UnderVoltage => "under_voltage",
            Self::ArmFrequencyCapped => "arm_frequency_capped",
            Self::Throttled => "throttled",
            Self::SoftTemperatureLimit => "soft_temperature_limit",
        }
    }

    /// Its bit for "now".
    const fn bit(self) -> u32 {
        match self {
            Self::UnderVoltage => 0,
            Self::ArmFrequencyCapped => 1,
            Self::Throttled => 2,
            Self::SoftTemperatureLimit => 3,
        }
    }
}

/// Whether a flag describes the present or anything since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Now,
    SinceBoot,
}

impl Scope {
    /// The `scope` label value.
    pub(super) const fn label(self) -> &'static str {
        match self {
            Self::Now => "now",
            Self::SinceBoot => "since_boot",
        }
    }
}

/// One decoded flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flag {
    pub(super) condition: Condition,
    pub(super) scope: Scope,
    pub(super) set: bool,
}

/// The eight flags of `mask`, condition by condition, `now` before `since_boot`. Other bits are
/// ignored.
pub(super) fn decode(mask: u32) -> [Flag; 8] {
    std::array::from_fn(|i| {
        let condition = Condition::ALL[i / 2];
        let (scope, bit) = if i % 2 == 0 {
            (Scope::Now, condition.bit())
        } else {
            (Scope::SinceBoot, condition.bit() + 16)
        };
        Flag { condition, scope, set: mask >> bit & 1 == 1 }
    })
}

/// Why `vcgencmd get_throttled` output was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ParseError {
    /// Not `throttled=0x…`.
    #[error("expected `throttled=0x<hex>`")]
    Format,
    /// `throttled=0x` followed by something that is not a 32-bit hexadecimal number.
    #[error("not a 32-bit hexadecimal number: {0}")]
    Hex(#[from] ParseIntError),
}

/// The sysfs `get_throttled` file: hexadecimal without `0x` (`50005`), as `%x` prints it.
pub(super) fn parse_sysfs(content: &str) -> Result<u32, ParseIntError> {
    u32::from_str_radix(content.trim(), 16)
}

/// `vcgencmd get_throttled` output: `throttled=0x50005`.
pub(super) fn parse_vcgencmd(output: &str) -> Result<u32, ParseError> {
    let hex = output
        .trim()
        .strip_prefix("throttled=")
        .and_then(|value| value.strip_prefix("0x"))
        .ok_or(ParseError::Format)?;
    Ok(u32::from_str_radix(hex, 16)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set flags of `mask` as `condition/scope` strings.
    fn set(mask: u32) -> Vec<String> {
        decode(mask)
            .iter()
            .filter(|f| f.set)
            .map(|f| format!("{}/{}", f.condition.label(), f.scope.label()))
            .collect()
    }

    #[test]
    fn decode_table() {
        let cases: &[(u32, &[&str])] = &[
            (0x0, &[]),
            (0x1, &["under_voltage/now"]),
            (0x2, &["arm_frequency_capped/now"]),
            (0x4, &["throttled/now"]),
            (0x8, &["soft_temperature_limit/now"]),
            (0x1_0000, &["under_voltage/since_boot"]),
            (0x2_0000, &["arm_frequency_capped/since_boot"]),
            (0x4_0000, &["throttled/since_boot"]),
            (0x8_0000, &["soft_temperature_limit/since_boot"]),
            (
                0x5_0005,
                &[
                    "under_voltage/now",
                    "under_voltage/since_boot",
                    "throttled/now",
                    "throttled/since_boot",
                ],
            ),
            (0x8_0008, &["soft_temperature_limit/now", "soft_temperature_limit/since_boot"]),
            // Bits 4-15 and 20-31 mean nothing to us.
            (0xfff0_fff0, &[]),
        ];
        for (mask, expected) in cases {
            assert_eq!(set(*mask), *expected, "mask {mask:#x}");
        }
    }

    #[test]
    fn decode_orders_conditions_then_scopes() {
        let order: Vec<(&str, &str)> =
            decode(0).iter().map(|f| (f.condition.label(), f.scope.label())).collect();
        assert_eq!(
            order,
            [
                ("under_voltage", "now"),
                ("under_voltage", "since_boot"),
                ("arm_frequency_capped", "now"),
                ("arm_frequency_capped", "since_boot"),
                ("throttled", "now"),
                ("throttled", "since_boot"),
                ("soft_temperature_limit", "now"),
                ("soft_temperature_limit", "since_boot"),
            ]
        );
    }

    #[test]
    fn parse_sysfs_table() {
        assert_eq!(parse_sysfs("0\n"), Ok(0));
        assert_eq!(parse_sysfs("50005\n"), Ok(0x5_0005));
        assert_eq!(parse_sysfs("e0008"), Ok(0xe_0008));
        assert!(parse_sysfs("0x50005").is_err());
        assert!(parse_sysfs("").is_err());
        assert!(parse_sysfs("zz").is_err());
    }

    #[test]
    fn parse_vcgencmd_table() {
        assert_eq!(parse_vcgencmd("throttled=0x50005\n"), Ok(0x5_0005));
        assert_eq!(parse_vcgencmd("throttled=0x0"), Ok(0));
        assert_eq!(parse_vcgencmd("throttled=50005"), Err(ParseError::Format));
        assert_eq!(
            parse_vcgencmd("error=1 error_msg=\"Command not registered\""),
            Err(ParseError::Format)
        );
        assert!(matches!(parse_vcgencmd("throttled=0xnope"), Err(ParseError::Hex(_))));
        assert!(matches!(parse_vcgencmd("throttled=0x1ffffffff"), Err(ParseError::Hex(_))));
    }
}
