//! Points for time: a lot bills whole units (default 30 minutes) at `points_per_hour`.

/// Points one billing unit costs, rounded up to whole points.
pub fn unit_points(points_per_hour: i64, unit_minutes: i64) -> i64 {
    (points_per_hour * unit_minutes + 59) / 60
}

/// Whole units needed for `minutes` (a started unit counts).
pub fn units(minutes: i64, unit_minutes: i64) -> i64 {
    if minutes <= 0 {
        0
    } else {
        (minutes + unit_minutes - 1) / unit_minutes
    }
}

/// Points for `minutes` of parking.
pub fn price(minutes: i64, points_per_hour: i64, unit_minutes: i64) -> i64 {
    units(minutes, unit_minutes) * unit_points(points_per_hour, unit_minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_units_are_charged_in_full() {
        assert_eq!(unit_points(10, 30), 5);
        assert_eq!(unit_points(7, 30), 4, "3.5 rounds up");
        assert_eq!(units(0, 30), 0);
        assert_eq!(units(1, 30), 1);
        assert_eq!(units(30, 30), 1);
        assert_eq!(units(31, 30), 2);
        assert_eq!(price(120, 10, 30), 20);
        assert_eq!(price(95, 10, 30), 20);
    }
}
