//! States: `submitted → accepted → in_progress → resolved → closed`, plus terminal
//! `rejected` (invalid, with a reason) and `withdrawn` (by the resident). A resolved or
//! closed demand can be reopened by its resident within 7 days of resolution
//! (→ `in_progress`); a resolved demand not rated within 72 h closes by itself. Every action
//! becomes an event; an action not allowed from the current state is `invalid_transition`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long after resolution a resident may reopen.
pub const REOPEN_WINDOW_DAYS: i64 = 7;
/// How long a resolved demand waits for a rating before it closes by itself.
pub const AUTO_CLOSE_HOURS: i64 = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandState {
    Submitted,
    Accepted,
    InProgress,
    Resolved,
    Closed,
    Rejected,
    Withdrawn,
}

impl DemandState {
    pub const ALL: [DemandState; 7] = [
        Self::Submitted,
        Self::Accepted,
        Self::InProgress,
        Self::Resolved,
        Self::Closed,
        Self::Rejected,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Still owned and on the clock: not yet resolved and not ended.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted | Self::InProgress)
    }

    /// Nothing can happen any more (comments aside).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::Withdrawn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    Assign,
    Start,
    Transfer,
    Resolve,
    Reject,
    Comment,
    Rate,
    Reopen,
    Withdraw,
    AutoClose,
    Escalate,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Self::Accept,
        Self::Assign,
        Self::Start,
        Self::Transfer,
        Self::Resolve,
        Self::Reject,
        Self::Comment,
        Self::Rate,
        Self::Reopen,
        Self::Withdraw,
        Self::AutoClose,
        Self::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Assign => "assign",
            Self::Start => "start",
            Self::Transfer => "transfer",
            Self::Resolve => "resolve",
            Self::Reject => "reject",
            Self::Comment => "comment",
            Self::Rate => "rate",
            Self::Reopen => "reopen",
            Self::Withdraw => "withdraw",
            Self::AutoClose => "auto_close",
            Self::Escalate => "escalate",
        }
    }
}

/// Who acts: the demand's own resident, staff in scope (community or street staff, or the
/// assigned handler), or the system's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Resident,
    Staff,
    System,
}

/// Facts about the demand the rules need besides its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub now: DateTime<Utc>,
    /// When it was (last) resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: DemandState,
    pub to: DemandState,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The action is not allowed from this state (→ 409 `invalid_transition`).
    #[error("cannot {action:?} a demand that is {from:?}")]
    InvalidTransition { from: DemandState, action: Action },
    /// This kind of actor may not take this action at all (→ 403).
    #[error("{actor:?} may not {action:?}")]
    NotAllowed { actor: ActorKind, action: Action },
    /// The reopen window has passed (→ 409 `invalid_transition`).
    #[error("the demand was resolved more than {REOPEN_WINDOW_DAYS} days ago")]
    ReopenWindowClosed,
    /// Auto-close before 72 h without a rating (a job ran early; nothing happens).
    #[error("the rating window is still open")]
    RatingWindowOpen,
}

fn who_may(action: Action) -> &'static [ActorKind] {
    use ActorKind::*;
    match action {
        Action::Accept
        | Action::Assign
        | Action::Start
        | Action::Transfer
        | Action::Resolve
        | Action::Reject => &[Staff],
        Action::Comment => &[Resident, Staff],
        Action::Rate | Action::Reopen | Action::Withdraw => &[Resident],
        Action::AutoClose | Action::Escalate => &[System],
    }
}

/// Where `action` by `actor` leads from `from`, or why not.
pub fn apply(
    from: DemandState,
    action: Action,
    actor: ActorKind,
    context: Context,
) -> Result<Transition, Rejection> {
    use DemandState as S;
    if !who_may(action).contains(&actor) {
        return Err(Rejection::NotAllowed { actor, action });
    }
    let invalid = Rejection::InvalidTransition { from, action };
    let to = match (action, from) {
        (Action::Accept, S::Submitted) => S::Accepted,
        (Action::Assign, S::Submitted | S::Accepted | S::InProgress) => from,
        (Action::Start, S::Accepted) => S::InProgress,
        // Another community (or the street) takes over; it accepts afresh, the SLA clock runs on.
        (Action::Transfer, S::Submitted | S::Accepted | S::InProgress) => S::Submitted,
        (Action::Resolve, S::Accepted | S::InProgress) => S::Resolved,
        (Action::Reject, S::Submitted | S::Accepted) => S::Rejected,
        (Action::Comment, _) => from,
        (Action::Rate, S::Resolved) => S::Closed,
        (Action::Reopen, S::Resolved | S::Closed) => {
            let resolved_at = context.resolved_at.ok_or(invalid)?;
            if context.now - resolved_at > Duration::days(REOPEN_WINDOW_DAYS) {
                return Err(Rejection::ReopenWindowClosed);
            }
            S::InProgress
        }
        (Action::Withdraw, S::Submitted | S::Accepted | S::InProgress) => S::Withdrawn,
        (Action::AutoClose, S::Resolved) => {
            let resolved_at = context.resolved_at.ok_or(invalid)?;
            if context.now - resolved_at < Duration::hours(AUTO_CLOSE_HOURS) {
                return Err(Rejection::RatingWindowOpen);
            }
            S::Closed
        }
        (Action::Escalate, S::Submitted | S::Accepted | S::InProgress) => from,
        _ => return Err(invalid),
    };
    Ok(Transition { from, to, action })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use DemandState as S;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn context(resolved_hours_ago: Option<i64>) -> Context {
        Context {
            now: now(),
            resolved_at: resolved_hours_ago.map(|h| now() - Duration::hours(h)),
        }
    }

    /// The table of API.md, written out once: (action, actor, from, to).
    fn table() -> Vec<(Action, ActorKind, DemandState, DemandState)> {
        use ActorKind::*;
        let mut rows = vec![
            (Action::Accept, Staff, S::Submitted, S::Accepted),
            (Action::Start, Staff, S::Accepted, S::InProgress),
            (Action::Resolve, Staff, S::Accepted, S::Resolved),
            (Action::Resolve, Staff, S::InProgress, S::Resolved),
            (Action::Reject, Staff, S::Submitted, S::Rejected),
            (Action::Reject, Staff, S::Accepted, S::Rejected),
            (Action::Rate, Resident, S::Resolved, S::Closed),
            (Action::Reopen, Resident, S::Resolved, S::InProgress),
            (Action::Reopen, Resident, S::Closed, S::InProgress),
            (Action::AutoClose, System, S::Resolved, S::Closed),
        ];
        for open in [S::Submitted, S::Accepted, S::InProgress] {
            rows.push((Action::Assign, Staff, open, open));
            rows.push((Action::Transfer, Staff, open, S::Submitted));
            rows.push((Action::Withdraw, Resident, open, S::Withdrawn));
            rows.push((Action::Escalate, System, open, open));
        }
        for state in S::ALL {
            rows.push((Action::Comment, Resident, state, state));
            rows.push((Action::Comment, Staff, state, state));
        }
        rows
    }

    #[test]
    fn every_state_action_and_actor_follows_the_table() {
        let table = table();
        // 100 hours after resolution: inside the reopen window, past the rating window.
        let ctx = context(Some(100));
        for state in S::ALL {
            assert_eq!(S::parse(state.as_str()), Some(state));
            for action in Action::ALL {
                for actor in [ActorKind::Resident, ActorKind::Staff, ActorKind::System] {
                    let expected = table
                        .iter()
                        .find(|(a, who, from, _)| *a == action && *who == actor && *from == state);
                    let result = apply(state, action, actor, ctx);
                    match expected {
                        Some((_, _, _, to)) => assert_eq!(
                            result.map(|t| t.to),
                            Ok(*to),
                            "{state:?} {action:?} {actor:?}"
                        ),
                        None if !who_may(action).contains(&actor) => {
                            assert_eq!(
                                result,
                                Err(Rejection::NotAllowed { actor, action }),
                                "{state:?} {action:?} {actor:?}"
                            )
                        }
                        None => assert_eq!(
                            result,
                            Err(Rejection::InvalidTransition {
                                from: state,
                                action
                            }),
                            "{state:?} {action:?} {actor:?}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn reopening_is_allowed_for_seven_days_after_resolution() {
        assert!(apply(
            S::Resolved,
            Action::Reopen,
            ActorKind::Resident,
            context(Some(24 * 7))
        )
        .is_ok());
        assert_eq!(
            apply(
                S::Closed,
                Action::Reopen,
                ActorKind::Resident,
                context(Some(24 * 7 + 1))
            ),
            Err(Rejection::ReopenWindowClosed)
        );
    }

    #[test]
    fn auto_close_waits_72_hours_for_a_rating() {
        assert_eq!(
            apply(
                S::Resolved,
                Action::AutoClose,
                ActorKind::System,
                context(Some(71))
            ),
            Err(Rejection::RatingWindowOpen)
        );
        assert_eq!(
            apply(
                S::Resolved,
                Action::AutoClose,
                ActorKind::System,
                context(Some(72))
            )
            .map(|t| t.to),
            Ok(S::Closed)
        );
    }

    fn any_state() -> impl Strategy<Value = DemandState> {
        proptest::sample::select(S::ALL.to_vec())
    }

    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(Action::ALL.to_vec())
    }

    fn any_actor() -> impl Strategy<Value = ActorKind> {
        proptest::sample::select(vec![
            ActorKind::Resident,
            ActorKind::Staff,
            ActorKind::System,
        ])
    }

    proptest! {
        /// Walking any sequence of actions: terminal states never move, closed demands only
        /// reopen, and the demand is open whenever it has not been resolved or ended.
        #[test]
        fn walks_respect_the_invariants(start in any_state(), steps in proptest::collection::vec((any_action(), any_actor(), 0i64..400), 1..60)) {
            let mut state = start;
            for (action, actor, hours) in steps {
                if let Ok(t) = apply(state, action, actor, context(Some(hours))) {
                    prop_assert_eq!(t.from, state);
                    if state.is_terminal() {
                        prop_assert_eq!(t.to, state, "terminal states only take comments");
                    }
                    if state == S::Closed && t.to != S::Closed {
                        prop_assert_eq!(action, Action::Reopen);
                    }
                    if t.to.is_open() && !state.is_open() {
                        prop_assert_eq!(action, Action::Reopen);
                    }
                    state = t.to;
                }
            }
        }
    }
}
