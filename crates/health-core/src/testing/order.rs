//! Whether an exposition is in the order the Prometheus client libraries write (and
//! [`Exposition`](crate::Exposition) promises): written apart from the code that sorts, so that a
//! test using it checks that code rather than repeating it.

/// Every place where `text` is out of order: families not by name, a family's lines apart or
/// after another family's, series not by label values, a histogram's buckets not by `le`
/// (`+Inf` last) or not followed by its `_sum` then `_count`. Empty when all is in order.
pub fn order_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut families: Vec<&str> = Vec::new();
    // The family of the lines being read, and the sort key of its last series.
    let mut last: Option<(Vec<String>, u8, f64)> = None;
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.is_empty() {
            continue;
        }
        let (family, key) = if let Some(rest) =
            line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE "))
        {
            (rest.split(' ').next().unwrap_or(rest), None)
        } else if line.starts_with('#') {
            continue;
        } else {
            let current = families.last().copied().unwrap_or("");
            match series_key(current, line) {
                Ok(key) => (current, Some(key)),
                Err(problem) => {
                    problems.push(format!("line {number}: {problem}: {line}"));
                    continue;
                }
            }
        };
        if families.last() != Some(&family) {
            if let Some(previous) = families.last()
                && *previous >= family
            {
                problems.push(format!("line {number}: family {family} after {previous}"));
            }
            if families.contains(&family) {
                problems.push(format!("line {number}: family {family} appears twice"));
            }
            families.push(family);
            last = None;
        }
        let Some(key) = key else {
            if last.is_some() {
                problems.push(format!("line {number}: a comment after {family}'s series: {line}"));
            }
            continue;
        };
        if let Some(previous) = &last
            && !in_order(previous, &key)
        {
            problems.push(format!("line {number}: series out of order: {line}"));
        }
        last = Some(key);
    }
    problems
}

/// Whether `next` may follow `previous` within a family.
fn in_order(previous: &(Vec<String>, u8, f64), next: &(Vec<String>, u8, f64)) -> bool {
    let (labels_a, part_a, le_a) = previous;
    let (labels_b, part_b, le_b) = next;
    match labels_a.cmp(labels_b) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        // The same label set: buckets by bound, then the sum, then the count, each once.
        std::cmp::Ordering::Equal => {
            part_a < part_b || (*part_a == 0 && *part_b == 0 && le_a < le_b)
        }
    }
}

/// `(label values but le, part, le)` of a series line of `family`: part 0 for the series itself
/// or a `_bucket`, 1 for `_sum`, 2 for `_count`.
fn series_key(family: &str, line: &str) -> Result<(Vec<String>, u8, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    let part = match name.strip_prefix(family) {
        Some("" | "_bucket") => 0,
        Some("_sum") => 1,
        Some("_count") => 2,
        _ => return Err(format!("series {name} outside its family {family}")),
    };
    let mut labels = Vec::new();
    let mut le = None;
    let mut chars = line[name_end..].chars().peekable();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if chars.next() != Some('"') {
                return Err("a label value without quotes".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("an unterminated label value")? {
                    '\\' => match chars.next().ok_or("an unterminated escape")? {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            if label == "le" {
                le = Some(value);
            } else {
                labels.push(value);
            }
            match chars.next() {
                Some(',') => {}
                Some('}') => break,
                _ => return Err("labels not closed".into()),
            }
        }
    }
    let le = match le.as_deref() {
        None => f64::NEG_INFINITY,
        Some("+Inf") => f64::INFINITY,
        Some(bound) => bound.parse().map_err(|_| format!("le=\"{bound}\" is not a number"))?,
    };
    Ok((labels, part, le))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_text_has_no_problems() {
        let text = "# HELP a A.\n# TYPE a gauge\na{h=\"x\"} 1\na{h=\"x y\"} 1\n\n\
                    # TYPE b histogram\nb_bucket{i=\"p\",le=\"0.5\"} 1\nb_bucket{i=\"p\",le=\"2\"} 1\n\
                    b_bucket{i=\"p\",le=\"+Inf\"} 1\nb_sum{i=\"p\"} 0.1\nb_count{i=\"p\"} 1\n\
                    b_bucket{i=\"q\",le=\"+Inf\"} 0\nb_sum{i=\"q\"} 0\nb_count{i=\"q\"} 0\n\n";
        assert_eq!(order_problems(text), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_disorder_is_found() {
        let cases = [
            ("# TYPE b gauge\nb 1\n# TYPE a gauge\na 1\n", "family a after b"),
            ("# TYPE a gauge\na{h=\"y\"} 1\na{h=\"x\"} 1\n", "series out of order"),
            ("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n", "appears twice"),
            ("# TYPE a gauge\na 1\n# HELP a A.\n", "a comment after"),
            ("# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"0.5\"} 1\n", "out of order"),
            (
                "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_bucket{le=\"10\"} 1\n",
                "out of order",
            ),
            ("# TYPE h histogram\nh_count 1\nh_sum 1\n", "out of order"),
            ("# TYPE h histogram\nh_sum 1\nh_bucket{le=\"+Inf\"} 1\n", "out of order"),
            ("# TYPE a gauge\nb 1\n", "outside its family"),
        ];
        for (text, expected) in cases {
            let problems = order_problems(text);
            assert!(problems.iter().any(|p| p.contains(expected)), "{text:?}: {problems:?}");
        }
    }
}
