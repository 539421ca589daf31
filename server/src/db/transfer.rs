//! Moving a deployment from SQLite to PostgreSQL: every row of every table, every column, copied into an
//! empty, migrated PostgreSQL database in one transaction (all or nothing).
//!
//! Nothing here lists tables or columns: both are read from the SQLite schema, and each column's type from
//! PostgreSQL's, so a column a later migration adds is copied without anyone remembering to. What is not
//! copied is what each side keeps for itself: the migrations' own bookkeeping, and SQLite's full-text index
//! (PostgreSQL computes its own from the copied index columns).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqlitePool, postgres::PgConnection, sqlite::SqliteRow};
use uuid::Uuid;

use super::{Database, DbError, Pool};

/// Tables a migration fills with rows of its own on either side: the source's replace the destination's.
const SEEDED_TABLES: &[&str] = &["app_meta"];

/// What the copy did, table by table in copy order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableCopied>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct TableCopied {
    pub table: String,
    pub rows: u64,
    /// Texts that held a character PostgreSQL cannot store (NUL) or bytes that were not UTF-8, copied with
    /// U+FFFD in their place. SQLite stores both; Parley has refused them at its doors since they were found.
    pub texts_repaired: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source must be a SQLite database and the destination a PostgreSQL one")]
    WrongBackends,
    #[error("the destination's table {table} already holds {rows} rows; copy only into an empty database")]
    DestinationNotEmpty { table: String, rows: i64 },
    #[error("the two schemas differ: {0} (run the same version of Parley on both, which migrates both)")]
    SchemaMismatch(String),
    #[error("the foreign keys between the source's tables form a cycle through {0}")]
    ForeignKeyCycle(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<sqlx::Error> for CopyError {
    fn from(error: sqlx::Error) -> Self {
        CopyError::Database(error.into())
    }
}

/// A column's type on PostgreSQL, which decides how its SQLite value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Uuid,
    Text,
    SmallInt,
    Int,
    BigInt,
    Bool,
    Timestamp,
    Bytes,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "uuid" => Kind::Uuid,
            "text" | "character varying" => Kind::Text,
            "smallint" => Kind::SmallInt,
            "integer" => Kind::Int,
            "bigint" => Kind::BigInt,
            "boolean" => Kind::Bool,
            "timestamp with time zone" => Kind::Timestamp,
            "bytea" => Kind::Bytes,
            _ => return None,
        })
    }
}

/// One value on its way across.
enum Cell {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    SmallInt(Option<i16>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Bool(Option<bool>),
    Timestamp(Option<DateTime<Utc>>),
    Bytes(Option<Vec<u8>>),
}

impl Cell {
    /// Reads column `index` of a SQLite row as `kind`; a text is repaired (and says so) if PostgreSQL could
    /// not store it as it is.
    fn read(row: &SqliteRow, index: usize, kind: Kind) -> Result<(Cell, bool), sqlx::Error> {
        Ok(match kind {
            Kind::Uuid => (Cell::Uuid(row.try_get(index)?), false),
            Kind::Text => {
                let Some(bytes) = row.try_get::<Option<Vec<u8>>, _>(index)? else {
                    return Ok((Cell::Text(None), false));
                };
                let (text, repaired) = match String::from_utf8(bytes) {
                    Ok(text) if !text.contains('\0') => (text, false),
                    Ok(text) => (text.replace('\0', "\u{FFFD}"), true),
                    Err(error) => (String::from_utf8_lossy(error.as_bytes()).replace('\0', "\u{FFFD}"), true),
                };
                (Cell::Text(Some(text)), repaired)
            }
            Kind::SmallInt => (Cell::SmallInt(row.try_get(index)?), false),
            Kind::Int => (Cell::Int(row.try_get(index)?), false),
            Kind::BigInt => (Cell::BigInt(row.try_get(index)?), false),
            Kind::Bool => (Cell::Bool(row.try_get(index)?), false),
            Kind::Timestamp => (Cell::Timestamp(row.try_get(index)?), false),
            Kind::Bytes => (Cell::Bytes(row.try_get(index)?), false),
        })
    }

    fn bind(self, values: &mut sqlx::query_builder::Separated<'_, '_, Postgres, &'static str>) {
        match self {
            Cell::Uuid(v) => values.push_bind(v),
            Cell::Text(v) => values.push_bind(v),
            Cell::SmallInt(v) => values.push_bind(v),
            Cell::Int(v) => values.push_bind(v),
            Cell::BigInt(v) => values.push_bind(v),
            Cell::Bool(v) => values.push_bind(v),
            Cell::Timestamp(v) => values.push_bind(v),
            Cell::Bytes(v) => values.push_bind(v),
        };
    }
}

/// A table to copy: its name and its columns with their PostgreSQL kinds.
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
}

/// Copies everything from `from` (SQLite) into `to` (PostgreSQL). Both must be migrated; `to` must hold no
/// rows yet (but what its migrations put there), so a second run cannot duplicate or mix data.
pub async fn copy_sqlite_to_postgres(from: &Database, to: &Database) -> Result<CopyReport, CopyError> {
    let (Pool::Sqlite(source), Pool::Postgres(destination)) = (&from.pool, &to.pool) else {
        return Err(CopyError::WrongBackends);
    };
    let tables = tables_in_copy_order(source, destination).await?;
    let mut tx = destination.begin().await?;
    // A batch of a thousand indexed rows may take longer than a request's statement timeout; the copy is a
    // one-off the operator watches, and its transaction is all or nothing anyway.
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
    for table in &tables {
        let (rows,): (i64,) =
            sqlx::query_as(&format!("SELECT count(*) FROM {}", quoted(&table.name))).fetch_one(&mut *tx).await?;
        if SEEDED_TABLES.contains(&table.name.as_str()) {
            sqlx::query(&format!("DELETE FROM {}", quoted(&table.name))).execute(&mut *tx).await?;
        } else if rows > 0 {
            return Err(CopyError::DestinationNotEmpty { table: table.name.clone(), rows });
        }
    }
    let mut report = CopyReport::default();
    for table in &tables {
        report.tables.push(copy_table(source, &mut tx, table).await?);
    }
    tx.commit().await?;
    Ok(report)
}

/// How many rows go in one INSERT: PostgreSQL takes at most 65,535 parameters per statement.
fn rows_per_insert(columns: usize) -> usize {
    (60_000 / columns.max(1)).clamp(1, 1_000)
}

async fn copy_table(source: &SqlitePool, to: &mut PgConnection, table: &Table) -> Result<TableCopied, CopyError> {
    let names: Vec<String> = table.columns.iter().map(|(name, _)| quoted(name)).collect();
    let select = format!("SELECT {} FROM {}", names.join(", "), quoted(&table.name));
    let insert = format!("INSERT INTO {} ({}) ", quoted(&table.name), names.join(", "));
    let mut copied = TableCopied { table: table.name.clone(), ..TableCopied::default() };
    let mut rows = sqlx::query(&select).fetch(source);
    let mut batch: Vec<Vec<Cell>> = Vec::new();
    let batch_size = rows_per_insert(table.columns.len());
    loop {
        let row = rows.try_next().await?;
        if let Some(row) = &row {
            let mut cells = Vec::with_capacity(table.columns.len());
            for (index, (_, kind)) in table.columns.iter().enumerate() {
                let (cell, repaired) = Cell::read(row, index, *kind)?;
                copied.texts_repaired += u64::from(repaired);
                cells.push(cell);
            }
            batch.push(cells);
        }
        if batch.len() >= batch_size || (row.is_none() && !batch.is_empty()) {
            copied.rows += batch.len() as u64;
            let mut builder = QueryBuilder::<Postgres>::new(insert.as_str());
            builder.push_values(batch.drain(..), |mut values, cells| {
                for cell in cells {
                    cell.bind(&mut values);
                }
            });
            builder.build().execute(&mut *to).await?;
        }
        if row.is_none() {
            return Ok(copied);
        }
    }
}

/// The source's tables (less what each side keeps for itself), parents before children, each with its
/// columns typed by the destination's schema.
async fn tables_in_copy_order(source: &SqlitePool, destination: &PgPool) -> Result<Vec<Table>, CopyError> {
    let all: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(source)
            .await?;
    // Full-text tables and their shadow tables (`messages_fts`, `messages_fts_data`, …).
    let virtual_tables: Vec<&str> = all
        .iter()
        .filter(|(_, sql)| {
            sql.as_deref().is_some_and(|sql| sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE"))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let names: Vec<&str> = all
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("sqlite_") && !name.starts_with("_sqlx"))
        .filter(|name| !virtual_tables.iter().any(|v| name == v || name.starts_with(&format!("{v}_"))))
        .collect();

    let mut parents: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut tables: BTreeMap<&str, Table> = BTreeMap::new();
    for &name in &names {
        let references: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_list($1)").bind(name).fetch_all(source).await?;
        // PostgreSQL's own foreign keys too: it may enforce one SQLite does not (`messages.user_id`).
        let enforced: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint
             WHERE contype = 'f' AND conrelid = to_regclass(quote_ident($1))",
        )
        .bind(name)
        .fetch_all(destination)
        .await?;
        let referenced = references.into_iter().chain(enforced).map(|(t,)| t.trim_matches('"').to_owned());
        parents.insert(name, referenced.filter(|t| t != name).collect());
        let source_columns: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM pragma_table_info($1) ORDER BY cid").bind(name).fetch_all(source).await?;
        let destination_columns: BTreeMap<String, (String, String)> = sqlx::query_as::<_, (String, String, String)>(
            "SELECT column_name::text, data_type::text, is_generated::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(name)
        .fetch_all(destination)
        .await?
        .into_iter()
        .map(|(column, data_type, generated)| (column, (data_type, generated)))
        .collect();
        if destination_columns.is_empty() {
            return Err(CopyError::SchemaMismatch(format!("PostgreSQL has no table {name}")));
        }
        let mut columns = Vec::new();
        for (column,) in source_columns {
            let mismatch = |why: &str| CopyError::SchemaMismatch(format!("{name}.{column} {why}"));
            let (data_type, generated) =
                destination_columns.get(&column).ok_or_else(|| mismatch("is not on PostgreSQL"))?;
            if generated != "NEVER" {
                return Err(mismatch("is computed on PostgreSQL"));
            }
            let kind = Kind::of(data_type)
                .ok_or_else(|| mismatch(&format!("has a type the copy does not know ({data_type})")))?;
            columns.push((column, kind));
        }
        tables.insert(name, Table { name: name.to_owned(), columns });
    }

    // Parents first: a table is taken once every table it refers to has been.
    let mut ordered = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready: Vec<&str> = tables
            .keys()
            .copied()
            .filter(|name| parents[name].iter().all(|parent| !tables.contains_key(parent.as_str())))
            .collect();
        if ready.is_empty() {
            return Err(CopyError::ForeignKeyCycle(tables.keys().copied().collect::<Vec<_>>().join(", ")));
        }
        for name in ready {
            ordered.extend(tables.remove(name));
        }
    }
    Ok(ordered)
}

/// An identifier as SQL text (both engines quote with double quotes).
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_never_passes_postgres_parameter_limit() {
        for columns in [1, 8, 13, 200, 70_000] {
            assert!(rows_per_insert(columns) * columns <= 65_535 || rows_per_insert(columns) == 1, "{columns}");
            assert!(rows_per_insert(columns) >= 1);
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quoted("users"), "\"users\"");
        assert_eq!(quoted("we\"ird"), "\"we\"\"ird\"");
    }
}
