pub mod activities;
pub mod attendance;
pub mod export;
pub mod help_requests;
pub mod leaderboard;
pub mod settlement;
