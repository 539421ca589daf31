//! The Tasks page: add, tick off, edit, delete, and show all, open or done tasks. Rendered on the server
//! and made of plain forms, so it all works without JavaScript; once the WASM is in, `crate::enhance` posts
//! the forms in place, and ticking a box saves it (`data-submit-on-change`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    auth::RequireUser,
    form::{Field, FormAlert, failed, form_level_message},
};
use crate::server_fns::tasks::{AddTask, DeleteTask, EditTask, SetTaskCompleted, TaskFilter, TaskView, list_tasks};
use leptos::server_fn::ServerFn;

#[component]
pub fn TasksPage() -> impl IntoView {
    view! {
        <Title text="Tasks"/>
        <RequireUser>
            <TaskBoard/>
        </RequireUser>
    }
}

#[component]
fn TaskBoard() -> impl IntoView {
    let query = use_query_map();
    let status = query.with_untracked(|q| q.get("status"));
    let cursor = query.with_untracked(|q| q.get("cursor")).filter(|c| !c.is_empty());
    let filter = TaskFilter::from_query(status.as_deref());
    let list = Resource::new(|| (), {
        let status = status.clone();
        move |_| list_tasks(status.clone(), cursor.clone())
    });

    let add = ServerAction::<AddTask>::new();
    let add_error = failed(add.value().get_untracked());
    let field = |name: &str| add_error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let (title_errors, description_errors) = (field("title"), field("description"));
    let add_alert = add_error.as_ref().and_then(form_level_message);
    // A change to one task that failed as a plain post (it may have been deleted meanwhile).
    let change_error = [
        failed(ServerAction::<SetTaskCompleted>::new().value().get_untracked()),
        failed(ServerAction::<EditTask>::new().value().get_untracked()),
        failed(ServerAction::<DeleteTask>::new().value().get_untracked()),
    ]
    .into_iter()
    .flatten()
    .next()
    .map(|e| e.to_string());
    let status_value = filter.query().unwrap_or_default();

    let tabs =
        [(TaskFilter::All, "All"), (TaskFilter::Open, "Open"), (TaskFilter::Done, "Done")].map(|(tab, label)| {
            view! {
                <li><a href=tab.href() aria-current=(tab == filter).then_some("page")>{label}</a></li>
            }
        });
    let tasks = move || {
        Suspend::new(async move {
            match list.await {
                Ok(list) if list.items.is_empty() => {
                    let empty = match filter {
                        TaskFilter::All => "No tasks yet. Add one above, or ask the assistant to.",
                        TaskFilter::Open => "Nothing open: every task is done.",
                        TaskFilter::Done => "No task is done yet.",
                    };
                    view! { <p class="muted task-empty">{empty}</p> }.into_any()
                }
                Ok(list) => {
                    let older = list.next_cursor.map(|cursor| {
                        let separator = if filter.query().is_some() { '&' } else { '?' };
                        format!(
                            "{}{separator}cursor={}",
                            filter.href(),
                            crate::domain::redirect::encode_query_value(&cursor)
                        )
                    });
                    view! {
                        <ul class="task-list">
                            {list.items.into_iter().map(|task| view! { <TaskItem task status=status_value/> }).collect_view()}
                        </ul>
                        {older.map(|href| view! { <p class="load-older"><a class="button" href=href>"Older tasks"</a></p> })}
                    }
                    .into_any()
                }
                Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
            }
        })
    };

    view! {
        <section class="tasks">
            <h1>"Tasks"</h1>
            <ActionForm action=add attr:class="task-add panel" attr:data-enhance="">
                <h2>"Add a task"</h2>
                <FormAlert message=add_alert/>
                <input type="hidden" name="status" value=status_value/>
                <Field id="task-title" name="title" label="Title" required=true maxlength="200" errors=title_errors/>
                <div class="field">
                    <label for="task-description">"Description (optional)"</label>
                    <textarea id="task-description" name="description" rows="2" maxlength="2000"
                        aria-describedby="task-description-errors"
                        aria-invalid=if description_errors.is_empty() { "false" } else { "true" }></textarea>
                    <ul id="task-description-errors" class="field-errors">
                        {description_errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                    </ul>
                </div>
                <button type="submit" class="button primary" data-pending-label="Adding…">"Add task"</button>
            </ActionForm>
            <nav class="task-filter" aria-label="Show tasks"><ul>{tabs}</ul></nav>
            {change_error.map(|message| view! { <div class="form-alert" role="alert"><p>{message}</p></div> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>{tasks}</Suspense>
        </section>
    }
}

/// One task: its checkbox (saved as soon as it is ticked, or with "Save" without JavaScript), its
/// description, and the edit and delete forms behind their own buttons.
#[component]
fn TaskItem(task: TaskView, status: &'static str) -> impl IntoView {
    let checkbox = format!("task-done-{}", task.id);
    let edit_title = format!("task-edit-title-{}", task.id);
    let edit_description = format!("task-edit-description-{}", task.id);
    let title = task.title.clone();
    view! {
        <li class="task" class:done=task.completed>
            <form method="post" action=SetTaskCompleted::url() class="task-toggle" data-enhance="" data-submit-on-change="">
                <input type="hidden" name="id" value=task.id.clone()/>
                <input type="hidden" name="status" value=status/>
                <input type="checkbox" id=checkbox.clone() name="completed" value="true" checked=task.completed/>
                <label for=checkbox class="task-title">{task.title.clone()}</label>
                <button type="submit" class="button small no-js-only" aria-label=format!("Save “{title}”")>"Save"</button>
            </form>
            {task.description.clone().map(|d| view! { <p class="task-description">{d}</p> })}
            <details class="task-edit">
                <summary aria-label=format!("Edit “{title}”")>"Edit"</summary>
                <form method="post" action=EditTask::url() data-enhance="">
                    <div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div>
                    <input type="hidden" name="id" value=task.id.clone()/>
                    <input type="hidden" name="status" value=status/>
                    <label for=edit_title.clone()>"Title"</label>
                    <input id=edit_title.clone() name="title" type="text" required maxlength="200" value=task.title.clone()
                        aria-describedby=format!("{edit_title}-errors")/>
                    <ul id=format!("{edit_title}-errors") class="field-errors"></ul>
                    <label for=edit_description.clone()>"Description"</label>
                    <textarea id=edit_description.clone() name="description" rows="2" maxlength="2000"
                        aria-describedby=format!("{edit_description}-errors")>{task.description.clone()}</textarea>
                    <ul id=format!("{edit_description}-errors") class="field-errors"></ul>
                    <button type="submit" class="button" data-pending-label="Saving…">"Save changes"</button>
                </form>
            </details>
            <form method="post" action=DeleteTask::url() class="task-delete" data-enhance="">
                <div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div>
                <input type="hidden" name="id" value=task.id/>
                <input type="hidden" name="status" value=status/>
                <button type="submit" class="button danger small" data-pending-label="Deleting…" aria-label=format!("Delete “{title}”")>
                    "Delete"
                </button>
            </form>
        </li>
    }
}
