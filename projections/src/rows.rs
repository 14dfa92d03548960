//! Reading a read model: run one query, read each row it finds.

use sqlx::AnyPool;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;

/// A query on the read models with its arguments bound.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// Every row `query` finds, each read by `read`.
pub(crate) async fn all<T>(
    pool: &AnyPool,
    query: AnyQuery<'_>,
    read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    query.fetch_all(pool).await?.iter().map(read).collect()
}

/// The row `query` finds, if any, read by `read`.
pub(crate) async fn one<T>(
    pool: &AnyPool,
    query: AnyQuery<'_>,
    read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error> {
    query
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}
