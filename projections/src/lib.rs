//! The read side: projections that follow the global event stream into query tables.

pub mod call_list;
pub mod call_results;
pub mod campaign_list;
pub mod campaign_reads;
pub mod dialer_view;
pub mod post_call_work;
pub mod recordings;
pub mod replay;
pub mod reports;
mod rows;
pub mod runner;
pub mod script_catalog;
pub mod script_list;
mod stored;

pub use campaign_list::CampaignList;
pub use runner::{Projection, ProjectionError, ProjectionHandle, ProjectionRunner};
pub use script_list::ScriptList;
