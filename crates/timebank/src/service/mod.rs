pub mod activities;
pub mod attendance;
pub mod help_requests;
pub mod leaderboard;
pub mod settlement;
