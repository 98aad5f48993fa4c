//! A partner project's life: `proposed → agreed → running → closed`, or `terminated` when
//! its partner exits. Agreeing needs the partner's acceptance first. Pure: the table of
//! allowed moves, nothing else.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProjectStatus {
    Proposed,
    Agreed,
    Running,
    Closed,
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectAction {
    /// Community staff agree on it (the partner has accepted).
    Agree,
    Start,
    Close,
    /// The partner exits: whatever is not finished ends.
    Terminate,
}

impl ProjectStatus {
    pub const ALL: [ProjectStatus; 5] = [
        Self::Proposed,
        Self::Agreed,
        Self::Running,
        Self::Closed,
        Self::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Agreed => "agreed",
            Self::Running => "running",
            Self::Closed => "closed",
            Self::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still to be done or under way: what an exit terminates.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Proposed | Self::Agreed | Self::Running)
    }
}

impl ProjectAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agree => "agree",
            Self::Start => "start",
            Self::Close => "close",
            Self::Terminate => "terminate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Agree, Self::Start, Self::Close, Self::Terminate]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// Why a move is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not from this status.
    NotFrom(ProjectStatus),
    /// Agreeing before the partner accepted.
    AwaitingPartner,
}

/// The status after `action` from `from`; `accepted` is whether the partner has accepted.
pub fn next(
    from: ProjectStatus,
    action: ProjectAction,
    accepted: bool,
) -> Result<ProjectStatus, Refusal> {
    use ProjectAction as A;
    use ProjectStatus as S;
    match (action, from) {
        (A::Agree, S::Proposed) if accepted => Ok(S::Agreed),
        (A::Agree, S::Proposed) => Err(Refusal::AwaitingPartner),
        (A::Start, S::Agreed) => Ok(S::Running),
        (A::Close, S::Running) => Ok(S::Closed),
        (A::Terminate, s) if s.is_live() => Ok(S::Terminated),
        (_, s) => Err(Refusal::NotFrom(s)),
    }
}

/// A goal's achievement (社会目标达成度): achieved over target, 0 when nothing was set.
pub fn achievement(target: i64, achieved: i64) -> f64 {
    if target <= 0 {
        return 0.0;
    }
    achieved.max(0) as f64 / target as f64
}

/// The mean achievement of a set of goals, each capped at 1 so that one overshot goal
/// does not hide a missed one.
pub fn mean_achievement(goals: &[(i64, i64)]) -> Option<f64> {
    if goals.is_empty() {
        return None;
    }
    let sum: f64 = goals
        .iter()
        .map(|(target, achieved)| achievement(*target, *achieved).min(1.0))
        .sum();
    Some(sum / goals.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectAction as A;
    use ProjectStatus as S;

    #[test]
    fn every_move_of_the_table_and_no_other() {
        let allowed = [
            (A::Agree, S::Proposed, S::Agreed),
            (A::Start, S::Agreed, S::Running),
            (A::Close, S::Running, S::Closed),
            (A::Terminate, S::Proposed, S::Terminated),
            (A::Terminate, S::Agreed, S::Terminated),
            (A::Terminate, S::Running, S::Terminated),
        ];
        for action in [A::Agree, A::Start, A::Close, A::Terminate] {
            for from in S::ALL {
                let expected = allowed
                    .iter()
                    .find(|(a, f, _)| *a == action && *f == from)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next(from, action, true).ok(),
                    expected,
                    "{action:?} {from:?}"
                );
            }
        }
    }

    #[test]
    fn agreeing_waits_for_the_partner() {
        assert_eq!(
            next(S::Proposed, A::Agree, false),
            Err(Refusal::AwaitingPartner)
        );
        assert_eq!(
            next(S::Agreed, A::Agree, false),
            Err(Refusal::NotFrom(S::Agreed))
        );
    }

    #[test]
    fn achievement_is_achieved_over_target_and_the_mean_caps_each_goal() {
        assert_eq!(achievement(40, 30), 0.75);
        assert_eq!(achievement(10, 15), 1.5);
        assert_eq!(achievement(0, 5), 0.0);
        assert_eq!(mean_achievement(&[(40, 30), (10, 15)]), Some(0.875));
        assert_eq!(mean_achievement(&[]), None);
    }

    #[test]
    fn words_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(A::parse("close"), Some(A::Close));
        assert_eq!(A::parse("finish"), None);
    }
}
