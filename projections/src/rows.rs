//! Reading a read model: run one query, read each row it finds; and moving a row by an event.

use commands::StoredEvent;
use serde::de::DeserializeOwned;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{AnyConnection, AnyPool, Row};

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

/// Moves the row of `event`'s aggregate in `table` (whose `key` column holds the aggregate id):
/// `assignments` bind `values` from `$3` on. The row remembers the event's position (`$1`) and
/// an older event never overwrites a newer one, so applying an event twice changes nothing.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    (table, key): (&'static str, &'static str),
    event: &StoredEvent,
    assignments: &str,
    values: Vec<Option<String>>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE {table} SET {assignments}, last_position = $1 \
         WHERE {key} = $2 AND last_position < $1"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(event.position)
        .bind(event.aggregate_id.clone());
    for value in values {
        query = query.bind(value);
    }
    query.execute(conn).await?;
    Ok(())
}

/// A text column holding a wire name (`"RUNNING"`) as the enum it names; a name the enum does
/// not know is a decode error naming the column.
pub(crate) fn wire<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    parse_wire(column, text)
}

/// Like [`wire`], for a nullable column.
pub(crate) fn wire_opt<T: DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| parse_wire(column, text)).transpose()
}

/// A nullable integer column holding a yes/no (0 is no).
pub(crate) fn flag_opt(row: &AnyRow, column: &str) -> Result<Option<bool>, sqlx::Error> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.map(|value| value != 0))
}

fn parse_wire<T: DeserializeOwned>(column: &str, text: String) -> Result<T, sqlx::Error> {
    serde_json::from_value(serde_json::Value::String(text.clone())).map_err(|e| {
        sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: format!("{text:?}: {e}").into(),
        }
    })
}
