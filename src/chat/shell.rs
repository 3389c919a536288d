//! The terminal adapter: `baton shell --as <person>`. Reads commands from a terminal or a
//! pipe and prints each reply before reading on, so scripts can drive it.

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::app::{Actor, App};
use crate::bot::reply::{FieldKind, Form};
use crate::bot::{Command, render::text};

/// Reads one line; `None` at end of input. Lines are read as bytes so that invalid UTF-8
/// is reported instead of ending the session.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(&buf)
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    ))
}

/// Asks for each field of a form; `None` if input ended or the person typed `cancel`.
async fn fill_form<R: AsyncBufRead + Unpin, W: Write>(
    form: &Form,
    input: &mut R,
    out: &mut W,
) -> std::io::Result<Option<Vec<(String, String)>>> {
    let mut values = Vec::new();
    for f in &form.fields {
        loop {
            let choices = match &f.kind {
                FieldKind::Choice(c) => format!(" ({})", c.join(" / ")),
                _ => String::new(),
            };
            let default = f
                .default
                .as_ref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default();
            let optional = if f.required { "" } else { " (enter to skip)" };
            write!(out, "  {}{choices}{default}{optional}: ", f.label)?;
            out.flush()?;
            let Some(line) = read_line(input).await? else {
                writeln!(out)?;
                return Ok(None);
            };
            let line = line.trim().to_string();
            if line.eq_ignore_ascii_case("cancel") {
                writeln!(out, "Cancelled; nothing was recorded.")?;
                return Ok(None);
            }
            let value = if line.is_empty() {
                f.default.clone().unwrap_or_default()
            } else {
                line
            };
            if value.is_empty() && f.required {
                writeln!(out, "  {} is required (or type `cancel`).", f.label)?;
                continue;
            }
            if f.kind == FieldKind::Number
                && !value.is_empty()
                && let Err(e) = crate::domain::parse::parse_value(&value)
            {
                writeln!(out, "  {e}")?;
                continue;
            }
            if let FieldKind::Choice(c) = &f.kind
                && !value.is_empty()
                && !c.iter().any(|x| x.eq_ignore_ascii_case(&value))
            {
                writeln!(out, "  Choose one of: {}.", c.join(", "))?;
                continue;
            }
            values.push((f.name.clone(), value));
            break;
        }
    }
    Ok(Some(values))
}

/// Runs the shell until end of input or `quit`. Returns the number of commands run.
pub async fn run<R: AsyncBufRead + Unpin, W: Write>(
    app: &App,
    actor: &Actor,
    mut input: R,
    out: &mut W,
    interactive: bool,
) -> std::io::Result<usize> {
    let mut count = 0;
    if interactive {
        writeln!(
            out,
            "baton shell — {} as {} ({}). Type `help`, or `quit` to leave.",
            actor.org.name, actor.person.spec.name, actor.person.spec.key
        )?;
    }
    loop {
        if interactive {
            write!(out, "baton> ")?;
            out.flush()?;
        }
        let Some(line) = read_line(&mut input).await? else {
            break;
        };
        let trimmed = line.trim();
        if matches!(trimmed, "quit" | "exit") {
            break;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        count += 1;
        let mut reply = app
            .handle_line(actor, &line, &uuid::Uuid::new_v4().to_string())
            .await;
        out.write_all(text::render(&reply).as_bytes())?;
        // A reply with a form asks for its fields, then submits it (forms may chain).
        while let Some(form) = reply.form().cloned() {
            let Some(values) = fill_form(&form, &mut input, out).await? else {
                break;
            };
            let cmd = Command::SubmitForm {
                id: form.id.clone(),
                values,
            };
            reply = app
                .handle(actor, cmd, &uuid::Uuid::new_v4().to_string())
                .await;
            out.write_all(text::render(&reply).as_bytes())?;
        }
        writeln!(out)?;
        out.flush()?;
    }
    Ok(count)
}
