//! Matching a need to the resources that could serve it: a pure score out of 100 with the
//! reasons behind every point, so staff see why a resource ranks where it does.
//!
//! | factor | points |
//! |---|---|
//! | category: the partner names the need's category / its type usually serves it | 40 / 25 |
//! | distance in the org tree: same community / same street / same district | 25 / 15 / 5 |
//! | free capacity: all the need's households (or any, when the need gives none) | up to 20 |
//! | the partner's residents' rating (1–5), unrated counts as half | up to 10 |
//! | the partner's evaluated goal achievement, none yet counts as 2 | up to 5 |
//!
//! A resource that serves none of the category, or has no free capacity, cannot serve the
//! need and is left out.

use crate::lists::{types_serving, NeedCategory, ResourceType};
use std::cmp::Reverse;

/// What matching needs of a need.
#[derive(Debug, Clone)]
pub struct NeedFacts<'a> {
    pub category: NeedCategory,
    /// The community's org path (`/district/street/community/`).
    pub org_path: &'a str,
    pub households: Option<i64>,
}

/// What matching needs of a resource and its partner.
#[derive(Debug, Clone)]
pub struct ResourceFacts<'a> {
    pub id: &'a str,
    pub resource_type: ResourceType,
    /// The categories the partner says the resource serves.
    pub categories: &'a [NeedCategory],
    pub org_path: &'a str,
    pub capacity: i64,
    pub capacity_used: i64,
    /// Mean of residents' ratings of the partner's projects (1–5).
    pub rating: Option<f64>,
    /// Mean goal achievement of the partner's evaluations (1.0 = every target met).
    pub achievement: Option<f64>,
}

/// One factor's share of a score, in words a street official reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub factor: &'static str,
    pub points: u32,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub total: u32,
    pub reasons: Vec<Reason>,
}

/// The score of `resource` for `need`, or `None` when it cannot serve it.
pub fn score(need: &NeedFacts<'_>, resource: &ResourceFacts<'_>) -> Option<Score> {
    let mut reasons = Vec::with_capacity(5);
    let (points, detail) = if resource.categories.contains(&need.category) {
        (40, format!("the partner serves {}", need.category.as_str()))
    } else if types_serving(need.category).contains(&resource.resource_type) {
        (
            25,
            format!(
                "a {} resource usually serves {}",
                resource.resource_type.as_str(),
                need.category.as_str()
            ),
        )
    } else {
        return None;
    };
    reasons.push(Reason {
        factor: "category",
        points,
        detail,
    });

    let (points, detail) = match shared_levels(need.org_path, resource.org_path) {
        n if n >= 3 => (25, "in the same community"),
        2 => (15, "in the same street"),
        1 => (5, "in the same district"),
        _ => (0, "outside the district"),
    };
    reasons.push(Reason {
        factor: "distance",
        points,
        detail: detail.to_owned(),
    });

    let free = resource.capacity - resource.capacity_used;
    if free <= 0 {
        return None;
    }
    let (points, detail) = match need.households {
        Some(households) if households > free => (
            (20 * free / households) as u32,
            format!("{free} of the {households} households at once"),
        ),
        Some(households) => (20, format!("all {households} households ({free} free)")),
        None => (20, format!("{free} free")),
    };
    reasons.push(Reason {
        factor: "capacity",
        points,
        detail,
    });

    let (points, detail) = match resource.rating {
        Some(rating) => (
            (rating.clamp(0.0, 5.0) * 2.0).floor() as u32,
            format!("rated {rating:.1} of 5 by residents"),
        ),
        None => (5, "not rated yet".to_owned()),
    };
    reasons.push(Reason {
        factor: "rating",
        points,
        detail,
    });

    let (points, detail) = match resource.achievement {
        Some(achievement) => (
            (achievement.clamp(0.0, 1.0) * 5.0).floor() as u32,
            format!("{:.0}% of its projects' goals reached", achievement * 100.0),
        ),
        None => (2, "no evaluation yet".to_owned()),
    };
    reasons.push(Reason {
        factor: "evaluation",
        points,
        detail,
    });

    Some(Score {
        total: reasons.iter().map(|r| r.points).sum(),
        reasons,
    })
}

/// The resources that could serve `need`, best first (ties: more free capacity, then id).
pub fn rank<'a>(
    need: &NeedFacts<'_>,
    resources: &'a [ResourceFacts<'a>],
) -> Vec<(&'a ResourceFacts<'a>, Score)> {
    let mut ranked: Vec<_> = resources
        .iter()
        .filter_map(|r| score(need, r).map(|s| (r, s)))
        .collect();
    ranked.sort_by_key(|(r, s)| {
        (
            Reverse(s.total),
            Reverse(r.capacity - r.capacity_used),
            r.id,
        )
    });
    ranked
}

/// How many leading levels of the org tree two paths share (`/d/s/c/` and `/d/s/x/`: 2).
fn shared_levels(a: &str, b: &str) -> usize {
    fn levels(path: &str) -> impl Iterator<Item = &str> {
        path.split('/').filter(|s| !s.is_empty())
    }
    levels(a).zip(levels(b)).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "/d/s1/c1/";

    fn need(households: Option<i64>) -> NeedFacts<'static> {
        NeedFacts {
            category: NeedCategory::ElderlyCare,
            org_path: HOME,
            households,
        }
    }

    fn resource(id: &'static str) -> ResourceFacts<'static> {
        ResourceFacts {
            id,
            resource_type: ResourceType::Service,
            categories: &[],
            org_path: HOME,
            capacity: 10,
            capacity_used: 0,
            rating: None,
            achievement: None,
        }
    }

    fn points(score: &Score, factor: &str) -> u32 {
        score
            .reasons
            .iter()
            .find(|r| r.factor == factor)
            .map(|r| r.points)
            .unwrap_or(99)
    }

    #[test]
    fn a_named_category_outranks_a_serving_type_and_strangers_are_left_out() {
        let named = ResourceFacts {
            categories: &[NeedCategory::ElderlyCare],
            resource_type: ResourceType::Goods,
            ..resource("named")
        };
        let typed = resource("typed");
        let stranger = ResourceFacts {
            resource_type: ResourceType::Goods,
            ..resource("stranger")
        };
        assert_eq!(points(&score(&need(None), &named).unwrap(), "category"), 40);
        assert_eq!(points(&score(&need(None), &typed).unwrap(), "category"), 25);
        assert_eq!(score(&need(None), &stranger), None);
    }

    #[test]
    fn nearer_in_the_org_tree_scores_more() {
        let at = |path: &'static str| {
            let r = ResourceFacts {
                org_path: path,
                ..resource("r")
            };
            points(&score(&need(None), &r).unwrap(), "distance")
        };
        assert_eq!(at("/d/s1/c1/"), 25);
        assert_eq!(at("/d/s1/c2/"), 15);
        assert_eq!(at("/d/s2/c9/"), 5);
        assert_eq!(at("/other/s1/c1/"), 0);
    }

    #[test]
    fn capacity_scales_with_the_households_it_can_take_and_none_free_is_left_out() {
        let half = ResourceFacts {
            capacity: 10,
            capacity_used: 5,
            ..resource("r")
        };
        assert_eq!(
            points(&score(&need(Some(10)), &half).unwrap(), "capacity"),
            10
        );
        assert_eq!(
            points(&score(&need(Some(5)), &half).unwrap(), "capacity"),
            20
        );
        assert_eq!(points(&score(&need(None), &half).unwrap(), "capacity"), 20);
        let full = ResourceFacts {
            capacity_used: 10,
            ..resource("r")
        };
        assert_eq!(score(&need(None), &full), None);
    }

    #[test]
    fn rating_and_evaluation_add_their_share_and_unknowns_count_as_middling() {
        let rated = ResourceFacts {
            rating: Some(4.6),
            achievement: Some(0.8),
            ..resource("r")
        };
        let s = score(&need(None), &rated).unwrap();
        assert_eq!(points(&s, "rating"), 9);
        assert_eq!(points(&s, "evaluation"), 4);
        let unknown = score(&need(None), &resource("u")).unwrap();
        assert_eq!(points(&unknown, "rating"), 5);
        assert_eq!(points(&unknown, "evaluation"), 2);
        assert_eq!(s.total, s.reasons.iter().map(|r| r.points).sum::<u32>());
        assert_eq!(s.total, 25 + 25 + 20 + 9 + 4);
    }

    #[test]
    fn the_obviously_best_resource_ranks_first() {
        let best = ResourceFacts {
            categories: &[NeedCategory::ElderlyCare],
            rating: Some(5.0),
            achievement: Some(1.0),
            ..resource("best")
        };
        let far = ResourceFacts {
            org_path: "/d/s2/c7/",
            ..best.clone()
        };
        let far = ResourceFacts { id: "far", ..far };
        let busy = ResourceFacts {
            id: "busy",
            capacity_used: 9,
            ..best.clone()
        };
        let wrong = ResourceFacts {
            resource_type: ResourceType::Funding,
            ..resource("wrong")
        };
        let all = [wrong, far, busy, best];
        let ranked: Vec<&str> = rank(&need(Some(4)), &all)
            .iter()
            .map(|(r, _)| r.id)
            .collect();
        assert_eq!(ranked, ["best", "busy", "far"]);
    }
}
