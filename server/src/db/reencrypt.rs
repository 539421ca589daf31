//! Bringing stored text up to the current keys, while instances keep serving: `parley reencrypt` seals every
//! value not under the first key (plain text included) and rebuilds every index entry made with another
//! search key; at start, each instance indexes the rows that have no index entry yet (rows from before the
//! blind index existed).
//!
//! Both walk a table in id order, a batch at a time, each batch one short transaction. A row is rewritten
//! only if its stored value is still the one that was read (`… WHERE id = $1 AND content = $2`): an edit
//! that lands in between wrote current values itself and wins. Nothing records where a walk stopped; a
//! walk after a kill starts over and passes the rows already done at the cost of one MAC check each.

use uuid::Uuid;

use super::{Database, DbError, on_pool};

/// The tables holding sealed text, in the order `parley reencrypt` walks them.
pub const SEALED_TABLES: [&str; 4] = ["users", "conversations", "messages", "tasks"];

/// How far a walk over one table has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub examined: u64,
    pub rewritten: u64,
    /// The last id examined: the next batch starts after it.
    pub after: Option<Uuid>,
    pub done: bool,
}

/// What a whole walk did, per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RewriteReport {
    pub tables: Vec<(&'static str, Progress)>,
}

/// One row as the walk reads it: its id, its owner, up to two sealed values, and its index's key id.
type SealedRow = (Uuid, Uuid, Option<String>, Option<String>, Option<String>);

/// A row's new values, and the old ones it is rewritten only if they are still there.
struct Rewrite {
    id: Uuid,
    owner: Uuid,
    old_a: Option<String>,
    old_b: Option<String>,
    new_a: String,
    new_b: Option<String>,
    index: crate::support::at_rest::IndexedText,
}

macro_rules! select_after {
    ($columns:literal, $table:literal $(, $filter:literal)?) => {
        concat!("SELECT ", $columns, " FROM ", $table, " WHERE id > $1 ", $($filter,)? " ORDER BY id LIMIT $2")
    };
}

impl Database {
    /// Walks one batch of `table` (one of [`SEALED_TABLES`]) after `progress.after`, rewriting each row whose
    /// sealed values or index are not as this configuration writes them now.
    pub async fn reencrypt_batch(&self, table: &str, progress: Progress, batch: u32) -> Result<Progress, DbError> {
        let after = progress.after.unwrap_or(Uuid::nil());
        let select = match table {
            "users" => select_after!(
                "id, id, instructions, CAST(NULL AS TEXT), CAST(NULL AS TEXT)",
                "users",
                "AND instructions IS NOT NULL"
            ),
            "conversations" => select_after!("id, user_id, title, CAST(NULL AS TEXT), indexed_with", "conversations"),
            // A message from an instance of the previous release has no owner of its own yet: its conversation's.
            "messages" => select_after!(
                "id, COALESCE(user_id, (SELECT c.user_id FROM conversations c WHERE c.id = messages.conversation_id)),
                 content, tool_calls, indexed_with",
                "messages"
            ),
            "tasks" => select_after!("id, user_id, title, description, CAST(NULL AS TEXT)", "tasks"),
            other => unreachable!("{other} is not a sealed table"),
        };
        let rows: Vec<SealedRow> =
            on_pool!(self, |pool| sqlx::query_as(select).bind(after).bind(i64::from(batch)).fetch_all(pool).await)?;
        let at_rest = self.at_rest();
        let key_id = at_rest.search_key().id();
        let is_current = |value: &Option<String>| value.as_deref().is_none_or(|v| at_rest.is_current(v));
        let indexed = matches!(table, "conversations" | "messages");
        let stale: Vec<&SealedRow> = rows
            .iter()
            .filter(|(_, _, a, b, index)| {
                !is_current(a) || !is_current(b) || (indexed && index.as_deref() != Some(key_id))
            })
            .collect();
        // Everything is computed before the write lock is taken, so the transaction holds it only for the
        // statements themselves.
        let updates: Vec<Rewrite> = stale
            .into_iter()
            .map(|(id, owner, a, b, _)| {
                let text = at_rest.open_opt(a.clone()).unwrap_or_default();
                Rewrite {
                    id: *id,
                    owner: *owner,
                    old_a: a.clone(),
                    old_b: b.clone(),
                    new_a: at_rest.seal(&text),
                    new_b: at_rest.seal_opt(at_rest.open_opt(b.clone()).as_deref()),
                    index: at_rest.search_key().for_user(*owner).index(&text),
                }
            })
            .collect();
        let mut rewritten = 0;
        if !updates.is_empty() {
            let _turn = self.write_turn().await?;
            rewritten = on_pool!(self, |pool| {
                async {
                let mut tx = pool.begin_with(self.begin_write()).await?;
                let mut rewritten = 0;
                for row in &updates {
                    let done = match table {
                        "users" => sqlx::query("UPDATE users SET instructions = $3 WHERE id = $1 AND instructions = $2")
                            .bind(row.id)
                            .bind(&row.old_a)
                            .bind(&row.new_a)
                            .execute(&mut *tx)
                            .await?,
                        "conversations" => sqlx::query(
                            "UPDATE conversations SET title = $3, index_words = $4, index_prefixes = $5, indexed_with = $6
                             WHERE id = $1 AND title = $2",
                        )
                        .bind(row.id)
                        .bind(&row.old_a)
                        .bind(&row.new_a)
                        .bind(&row.index.words)
                        .bind(&row.index.prefixes)
                        .bind(key_id)
                        .execute(&mut *tx)
                        .await?,
                        "messages" => sqlx::query(
                            "UPDATE messages SET content = $3, tool_calls = $4, index_words = $5, index_prefixes = $6,
                                 indexed_with = $7, user_id = $8
                             WHERE id = $1 AND content = $2",
                        )
                        .bind(row.id)
                        .bind(&row.old_a)
                        .bind(&row.new_a)
                        .bind(&row.new_b)
                        .bind(&row.index.words)
                        .bind(&row.index.prefixes)
                        .bind(key_id)
                        .bind(row.owner)
                        .execute(&mut *tx)
                        .await?,
                        _ => sqlx::query(
                            "UPDATE tasks SET title = $4, description = $5
                             WHERE id = $1 AND title = $2 AND description IS NOT DISTINCT FROM $3",
                        )
                        .bind(row.id)
                        .bind(&row.old_a)
                        .bind(&row.old_b)
                        .bind(&row.new_a)
                        .bind(&row.new_b)
                        .execute(&mut *tx)
                        .await?,
                    };
                    rewritten += done.rows_affected();
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(rewritten)
            }
            .await
            })?;
        }
        Ok(Progress {
            examined: progress.examined + rows.len() as u64,
            rewritten: progress.rewritten + rewritten,
            after: rows.last().map(|row| row.0).or(progress.after),
            done: rows.len() < batch as usize,
        })
    }

    /// Indexes up to `batch` rows of `table` (`messages` or `conversations`) that have no index entry yet;
    /// how many it indexed (0: none left).
    pub async fn index_missing(&self, table: &str, batch: u32) -> Result<u64, DbError> {
        let select = match table {
            "messages" => {
                "SELECT m.id, c.user_id, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.indexed_with IS NULL LIMIT $1"
            }
            "conversations" => "SELECT id, user_id, title FROM conversations WHERE indexed_with IS NULL LIMIT $1",
            other => unreachable!("{other} has no search index"),
        };
        let update = match table {
            "messages" => {
                "UPDATE messages SET index_words = $2, index_prefixes = $3, indexed_with = $4, user_id = $5
                 WHERE id = $1 AND indexed_with IS NULL"
            }
            _ => {
                "UPDATE conversations SET index_words = $2, index_prefixes = $3, indexed_with = $4
                 WHERE id = $1 AND indexed_with IS NULL"
            }
        };
        let rows: Vec<(Uuid, Uuid, String)> =
            on_pool!(self, |pool| sqlx::query_as(select).bind(i64::from(batch)).fetch_all(pool).await)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let entries: Vec<_> = rows
            .into_iter()
            .map(|(id, owner, stored)| (id, owner, self.index_of(owner, &self.at_rest().open(stored)).0))
            .collect();
        let key_id = self.at_rest().search_key().id();
        let _turn = self.write_turn().await?;
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            for (id, owner, index) in &entries {
                let query = sqlx::query(update).bind(id).bind(&index.words).bind(&index.prefixes).bind(key_id);
                // Only the messages' statement names the owner (a conversation always had one).
                let query = if table == "messages" { query.bind(owner) } else { query };
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(entries.len() as u64)
        }
        .await)?)
    }
}

impl Database {
    /// Walks every sealed table to its end ([`Database::reencrypt_batch`]), calling `report` after each batch.
    pub async fn reencrypt_all(
        &self,
        batch: u32,
        mut report: impl FnMut(&str, &Progress),
    ) -> Result<RewriteReport, DbError> {
        let mut done = RewriteReport::default();
        for table in SEALED_TABLES {
            let mut progress = Progress::default();
            while !progress.done {
                progress = self.reencrypt_batch(table, progress, batch).await?;
                report(table, &progress);
            }
            done.tables.push((table, progress));
        }
        Ok(done)
    }

    /// Indexes every row that has no index entry yet, a batch at a time; how many it indexed.
    pub async fn index_all_missing(&self, batch: u32) -> Result<u64, DbError> {
        let mut indexed = 0;
        for table in ["conversations", "messages"] {
            loop {
                let n = self.index_missing(table, batch).await?;
                indexed += n;
                if n == 0 {
                    break;
                }
            }
        }
        Ok(indexed)
    }
}
