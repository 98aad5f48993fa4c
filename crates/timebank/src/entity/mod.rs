pub mod activity;
pub mod help_request;
pub mod signup;
