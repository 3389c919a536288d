//! The terminal adapter: `baton shell --as <person>`. Reads commands from a terminal or a
//! pipe and prints each reply before reading on, so scripts can drive it.

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::app::inbound::{self as pipeline, Outcome};
use crate::app::{Actor, App};
use crate::bot::Reply;
use crate::bot::inbound::{Identity, Inbound, Place, Pressed, What};
use crate::bot::render::text;
use crate::bot::reply::{Action, FieldKind, Form};
use crate::chat::recording::RecordingAdapter;
use crate::chat::{Outbound, Target};
use crate::clock::{Clock, FixedClock};

/// A simulated clock for the shell: `advance <duration>` moves it, and everything the
/// scheduler decides on the way is delivered through a recording adapter and printed.
pub struct Simulation {
    pub clock: Arc<FixedClock>,
    pub adapter: Arc<RecordingAdapter>,
}

/// Runs the scheduler and the outbox from the clock's now up to `until`, stopping at
/// every moment something becomes due, and returns what was delivered, with when.
pub async fn advance(
    app: &App,
    sim: &Simulation,
    until: DateTime<Utc>,
) -> crate::error::Result<Vec<(DateTime<Utc>, Target, Outbound)>> {
    let mut delivered = Vec::new();
    loop {
        let report = crate::app::schedule::run_due(app, None).await?;
        while crate::outbox::deliver_batch(app, sim.adapter.as_ref(), "shell", 500, None).await? > 0
        {
        }
        let now = sim.clock.now();
        delivered.extend(sim.adapter.take().into_iter().map(|(t, m)| (now, t, m)));
        let next = match (report.next_wake, crate::outbox::next_due(&app.store).await?) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            Some(n) if n <= until => sim.clock.set(n.max(now + chrono::Duration::seconds(1))),
            _ => break,
        }
    }
    if sim.clock.now() < until {
        sim.clock.set(until);
        crate::app::schedule::run_due(app, None).await?;
        while crate::outbox::deliver_batch(app, sim.adapter.as_ref(), "shell", 500, None).await? > 0
        {
        }
        delivered.extend(sim.adapter.take().into_iter().map(|(t, m)| (until, t, m)));
    }
    Ok(delivered)
}

/// Prints what the simulation delivered: in full for the person and their departments'
/// channels, as a count for everyone else. Their buttons join `buttons`.
fn print_delivered<W: Write>(
    out: &mut W,
    actor: &Actor,
    tz: chrono_tz::Tz,
    delivered: &[(DateTime<Utc>, Target, Outbound)],
    buttons: &mut Vec<Action>,
    width: usize,
) -> std::io::Result<()> {
    let mut others = 0;
    for (at, target, msg) in delivered {
        let when = at.with_timezone(&tz).format("%a %-d %b %H:%M");
        let mine = match target {
            Target::Person { person } => person == actor.key(),
            Target::Channel { department } | Target::Thread { department, .. } => {
                actor.departments().any(|d| d == department)
            }
            Target::Prompted { .. } => false,
        };
        if !mine {
            others += 1;
            continue;
        }
        let mut place = match target {
            Target::Person { .. } => "direct message".to_string(),
            Target::Channel { department } => format!("#{department}"),
            Target::Thread { department, thread } => format!("#{department} thread {thread}"),
            Target::Prompted { .. } => "prompts".to_string(),
        };
        if msg.kind == "summary_edit" {
            place.push_str(" · summary updated in place");
        } else if msg.kind == "alert_edit" {
            place.push_str(" · alert updated in place");
        }
        writeln!(out, "── {when} · {place} ──")?;
        out.write_all(text::render_pressable(&msg.reply, buttons, width).as_bytes())?;
    }
    if others > 0 {
        writeln!(
            out,
            "({others} more message(s) went to other people and channels.)"
        )?;
    }
    Ok(())
}

/// Whether `posted` is a part of `reply` as it was printed (the same blocks, in a row).
fn repeats(reply: &Reply, posted: &Reply) -> bool {
    !posted.blocks.is_empty()
        && reply
            .blocks
            .windows(posted.blocks.len())
            .any(|w| w == posted.blocks.as_slice())
}

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

/// With `--png <dir>`: renders the reply's pictures into `dir` (created if needed) and
/// prints one line per picture, `  picture: <path> — <alt text>`.
async fn write_pictures<W: Write>(
    app: &App,
    actor: &Actor,
    reply: &crate::bot::Reply,
    dir: Option<&std::path::Path>,
    out: &mut W,
) -> std::io::Result<()> {
    let Some(dir) = dir else {
        return Ok(());
    };
    for image in crate::app::pictures::images(reply) {
        let path = dir.join(crate::app::pictures::file_name(image));
        match crate::app::pictures::render(app, actor.org.id, image).await {
            Ok(png) => {
                std::fs::create_dir_all(dir)?;
                std::fs::write(&path, &png.bytes)?;
                writeln!(out, "  picture: {} — {}", path.display(), image.alt)?;
            }
            Err(e) => writeln!(out, "  picture {} could not be drawn: {e}", path.display())?,
        }
    }
    Ok(())
}

/// The platform name of the terminal.
pub const PLATFORM: &str = "shell";

/// Runs one thing the person typed, pressed or filled in through the app's inbound
/// pipeline, as the person the shell runs as.
async fn run_inbound(app: &App, actor: &Actor, what: What) -> Reply {
    let inbound = Inbound {
        who: Identity {
            platform: PLATFORM,
            workspace: None,
            user: actor.key().to_string(),
        },
        place: Place::Direct,
        what,
        delivery: None,
        key: uuid::Uuid::new_v4().to_string(),
        mentions: Vec::new(),
    };
    match pipeline::handle_as(app, actor.clone(), inbound).await {
        Outcome::Done(d) => d.reply,
        Outcome::Refused(r) => r,
        Outcome::Duplicate => Reply::new().text("That was handled before."),
        Outcome::Ignored(why) => Reply::new().text(format!("Nothing to do: {why}.")),
    }
}

/// `press <n>` or `press <label>`: the button numbered `n` in what was printed since the
/// last command, or the latest one whose label starts with `label` (`press next`).
fn press(arg: &str, buttons: &[Action]) -> Result<Pressed, String> {
    let arg = arg.trim().trim_start_matches('#');
    if arg.is_empty() {
        return Err("Usage: press <n> or press <label>, e.g. `press 1` or `press next`.".into());
    }
    let b = match arg.parse::<usize>() {
        Ok(n) => n
            .checked_sub(1)
            .and_then(|i| buttons.get(i))
            .ok_or_else(|| match buttons.len() {
                0 => "There is no button to press: nothing printed since the last command has one."
                    .to_string(),
                k => format!("There is no button {n}: the buttons are numbered 1 to {k}."),
            })?,
        Err(_) => buttons
            .iter()
            .rev()
            .find(|b| b.label.to_lowercase().starts_with(&arg.to_lowercase()))
            .ok_or_else(|| format!("No button printed since the last command reads `{arg}`."))?,
    };
    Pressed::parse(&b.id, &b.value, None).map_err(|e| e.0)
}

/// The terminal's width in columns: `COLUMNS` when the shell exported it, else what
/// `stty size` reports for the terminal; `None` when neither answers (no terminal).
pub fn terminal_width() -> Option<usize> {
    let valid = |n: usize| (20..=1000).contains(&n);
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| valid(*n))
    {
        return Some(n);
    }
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse::<usize>()
        .ok()
        .filter(|n| valid(*n))
}

/// Runs the shell until end of input or `quit`. Returns the number of commands run.
/// With `png` set, pictures attached to replies are written there and their paths printed;
/// the text is the same either way.
pub async fn run<R: AsyncBufRead + Unpin, W: Write>(
    app: &App,
    actor: &Actor,
    mut input: R,
    out: &mut W,
    interactive: bool,
    sim: Option<&Simulation>,
    png: Option<&std::path::Path>,
) -> std::io::Result<usize> {
    let spec_tz = match app.spec(actor.org.id).await {
        Ok(spec) => app
            .person_zone(actor.org.id, &spec, &actor.person.spec)
            .await
            .unwrap_or(spec.org.time_zone),
        Err(_) => chrono_tz::UTC,
    };
    // A script (input that is not a terminal) gets the default width, so its output does
    // not depend on where it runs.
    let width = if interactive {
        terminal_width().unwrap_or(text::DEFAULT_WIDTH)
    } else {
        text::DEFAULT_WIDTH
    };
    let mut count = 0;
    // The buttons printed since the last command, numbered for `press <n>`.
    let mut buttons: Vec<Action> = Vec::new();
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
        if line.len() > crate::domain::parse::MAX_LINE_BYTES {
            writeln!(
                out,
                "Error: that line is {} bytes long; baton reads at most {}. Nothing was done.\n",
                line.len(),
                crate::domain::parse::MAX_LINE_BYTES
            )?;
            continue;
        }
        let trimmed = line.trim();
        if matches!(trimmed, "quit" | "exit") {
            break;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        count += 1;
        let lower = trimmed.to_ascii_lowercase();
        if lower == "now" || lower == "time" {
            let now = app.clock.now().with_timezone(&spec_tz);
            writeln!(
                out,
                "It is {} ({spec_tz}).\n",
                now.format("%a %-d %b %Y %H:%M")
            )?;
            continue;
        }
        if let Some(arg) = lower.strip_prefix("advance") {
            let Some(sim) = sim else {
                writeln!(
                    out,
                    "Error: `advance` works only on a simulated clock: start the shell with --clock <RFC3339>.\n"
                )?;
                continue;
            };
            match crate::domain::parse::parse_duration(arg) {
                Err(e) => writeln!(
                    out,
                    "Error: {e}\nUsage: advance <duration>, e.g. `advance 1d`\n"
                )?,
                Ok(d) => {
                    let until = sim.clock.now() + d;
                    match advance(app, sim, until).await {
                        Ok(delivered) => {
                            buttons.clear();
                            print_delivered(out, actor, spec_tz, &delivered, &mut buttons, width)?;
                            writeln!(
                                out,
                                "It is now {}.\n",
                                until.with_timezone(&spec_tz).format("%a %-d %b %Y %H:%M")
                            )?;
                        }
                        Err(e) => writeln!(out, "Error: {e}\n")?,
                    }
                }
            }
            continue;
        }
        let what = match lower.strip_prefix("press") {
            Some(arg) if arg.is_empty() || arg.starts_with(char::is_whitespace) => {
                match press(arg, &buttons) {
                    Ok(p) => What::Press(p),
                    Err(e) => {
                        writeln!(out, "Error: {e}\n")?;
                        continue;
                    }
                }
            }
            _ => What::Text(line.clone()),
        };
        buttons.clear();
        let mut reply = run_inbound(app, actor, what).await;
        out.write_all(text::render_pressable(&reply, &mut buttons, width).as_bytes())?;
        write_pictures(app, actor, &reply, png, out).await?;
        // A reply with a form asks for its fields, then submits it (forms may chain).
        while let Some(form) = reply.form().cloned() {
            let Some(values) = fill_form(&form, &mut input, out).await? else {
                break;
            };
            let what = What::Form {
                id: form.id.clone(),
                values,
            };
            reply = run_inbound(app, actor, what).await;
            buttons.clear();
            out.write_all(text::render_pressable(&reply, &mut buttons, width).as_bytes())?;
            write_pictures(app, actor, &reply, png, out).await?;
        }
        writeln!(out)?;
        // On a simulated clock, whatever the command caused (or what became due) is
        // delivered at once.
        if let Some(sim) = sim
            && let Ok(mut delivered) = advance(app, sim, sim.clock.now()).await
        {
            // What the command posted for others to see (a review's item in its thread, a
            // capture's echo) is what it just answered: print each once.
            delivered.retain(|(_, _, m)| !repeats(&reply, &m.reply));
            if !delivered.is_empty() {
                print_delivered(out, actor, spec_tz, &delivered, &mut buttons, width)?;
            }
        }
        out.flush()?;
    }
    Ok(count)
}
