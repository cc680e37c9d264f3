//! The one place the monitor speaks health-script: what the API answered and what it says about
//! the event, mapped onto the published vocabulary (`api_requests_total{result}`,
//! `stream_state{state}`). A total `match` each way: a new kind of answer does not compile until
//! it is published.

use health_script::{ApiResult, ScriptHealth, StreamState};

use super::decide::{Decision, EventState};
use crate::vimeo::{Answer, Checked, TransientKind};

/// Counts the request (unless the client sent none, holding back for a rate limit).
pub(super) fn record_request(health: &ScriptHealth, checked: &Checked) {
    if checked.attempts == 0 {
        return;
    }
    let remaining = checked.rate_limit.as_ref().and_then(|limit| limit.remaining);
    health.api_request(api_result(&checked.answer), checked.duration, remaining);
}

/// Records where a check left the kiosk, and that the loop made progress.
pub(super) fn record_check(health: &ScriptHealth, decision: &Decision) {
    health.set_stream_state(stream_state(decision.event_state()));
    health.tick();
}

/// The `result` of one request: a configuration problem is a client error, a timeout is a
/// network error like a failed connection.
pub(super) fn api_result(answer: &Answer) -> ApiResult {
    match answer {
        Answer::Live { .. } => ApiResult::Live,
        Answer::Offline { .. } => ApiResult::Offline,
        Answer::RateLimited { .. } => ApiResult::RateLimited,
        Answer::Misconfigured { .. } => ApiResult::ClientError,
        Answer::Transient { kind, .. } => match kind {
            TransientKind::ServerError(_) => ApiResult::ServerError,
            TransientKind::Timeout | TransientKind::Network => ApiResult::NetworkError,
            TransientKind::InvalidResponse => ApiResult::InvalidResponse,
        },
    }
}

/// The published stream state.
const fn stream_state(state: EventState) -> StreamState {
    match state {
        EventState::Live => StreamState::Live,
        EventState::Offline => StreamState::Offline,
        EventState::Error => StreamState::Error,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::player::Screen;
    use crate::vimeo::{OfflineReason, PlaybackUrl};

    fn transient(kind: TransientKind) -> Answer {
        Answer::Transient { kind, detail: String::new() }
    }

    #[test]
    fn every_answer_has_its_result_and_the_log_calls_it_the_same() {
        let url = PlaybackUrl::new("https://live.example/e.m3u8?sig=s".to_owned());
        let table = [
            (Answer::Live { url }, ApiResult::Live),
            (Answer::Offline { why: OfflineReason::NotStarted }, ApiResult::Offline),
            (
                Answer::Offline { why: OfflineReason::NothingToStream { error_code: 4020 } },
                ApiResult::Offline,
            ),
            (Answer::RateLimited { wait: Duration::from_secs(5) }, ApiResult::RateLimited),
            (
                Answer::Misconfigured {
                    status: 401,
                    error_code: Some(8000),
                    fix: "set VIMEO_TOKEN",
                    developer_message: None,
                },
                ApiResult::ClientError,
            ),
            (transient(TransientKind::ServerError(502)), ApiResult::ServerError),
            (transient(TransientKind::Timeout), ApiResult::NetworkError),
            (transient(TransientKind::Network), ApiResult::NetworkError),
            (transient(TransientKind::InvalidResponse), ApiResult::InvalidResponse),
        ];
        for (answer, expected) in &table {
            assert_eq!(api_result(answer), *expected, "{answer:?}");
            assert_eq!(answer.result_label(), expected.label(), "{answer:?}");
        }
        let mut covered: Vec<ApiResult> = table.iter().map(|(_, result)| *result).collect();
        covered.dedup();
        assert_eq!(covered, ApiResult::ALL, "every published result is reachable");
    }

    #[tokio::test]
    async fn a_check_and_a_request_are_published_under_their_labels() {
        use health_core::SampleValue;
        use health_core::testing::{collect_checked, gauge};

        let health = ScriptHealth::new(Duration::from_secs(10));
        // A live event whose stream cannot be opened: the error image, and still live.
        let decision = Decision {
            screen: Screen::Error,
            consecutive_failures: 0,
            failed_loads: 3,
            next_check: Duration::from_secs(10),
        };
        record_check(&health, &decision);
        let checked = Checked {
            answer: transient(TransientKind::Timeout),
            duration: Duration::from_millis(300),
            attempts: 1,
            rate_limit: None,
        };
        record_request(&health, &checked);
        record_request(&health, &Checked { attempts: 0, ..checked });
        let snapshot = collect_checked(&health.collector(Duration::from_secs(5))).await;
        assert_eq!(gauge(&snapshot, "stream_state", &[("state", "live")]), 1.0);
        assert_eq!(gauge(&snapshot, "stream_state", &[("state", "error")]), 0.0);
        assert_eq!(
            snapshot.get("api_requests_total", &[("result", "network_error")]),
            Some(&SampleValue::Counter(1)),
            "one request sent, one held back"
        );
        for (state, published) in [
            (EventState::Live, StreamState::Live),
            (EventState::Offline, StreamState::Offline),
            (EventState::Error, StreamState::Error),
        ] {
            assert_eq!(stream_state(state), published);
        }
    }
}
