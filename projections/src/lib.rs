//! The read side: projections that follow the global event stream into query tables.

pub mod campaign_list;
pub mod runner;

pub use campaign_list::CampaignList;
pub use runner::{Projection, ProjectionError, ProjectionHandle, ProjectionRunner};
