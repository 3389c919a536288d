//! The platform-neutral reply: what baton says, before any adapter decides how it looks.

use serde::{Deserialize, Serialize};

use crate::domain::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    Text(String),
    /// A progress bar with percentage; `None` reads as "no data".
    Progress(Option<f64>),
    Status {
        status: Status,
        stale: bool,
    },
    /// A figure with its unit; `None` is shown as a dash.
    Figure {
        value: Option<f64>,
        unit: String,
    },
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub title: String,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns
                .iter()
                .map(|(t, a)| Column {
                    title: (*t).to_string(),
                    align: *a,
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldKind {
    Number,
    Choice(Vec<String>),
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub default: Option<String>,
    pub required: bool,
}

/// A form the person fills in: a modal on chat platforms, a sequence of prompts in the
/// shell. Submitting it produces `Command::SubmitForm` with the same `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub title: String,
    pub fields: Vec<Field>,
}

impl Form {
    /// A form of one required text field named `text`.
    pub fn text(id: String, title: impl Into<String>, label: impl Into<String>) -> Form {
        Form {
            id,
            title: title.into(),
            fields: vec![Field {
                name: "text".into(),
                label: label.into(),
                kind: FieldKind::Text,
                default: None,
                required: true,
            }],
        }
    }
}

/// A button (chat platforms) or a suggested command (shell).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What pressing it means: `update`, `nochange`, `skip`, `snooze`, …
    pub id: String,
    pub label: String,
    /// The subject, e.g. the key-result code or the prompt id.
    pub value: String,
}

/// A picture attached to a reply, described rather than drawn: each adapter asks
/// `app::pictures` to render it (PNG) when it needs the bytes, so replies and outbox
/// messages stay small and the text rendering stays the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `kr_trend`, `scorecard` or `strategy_map`.
    pub kind: String,
    /// The key result code for `kr_trend`; the scope for `scorecard`.
    pub subject: Option<String>,
    /// Alt text: what the picture shows, in words.
    pub alt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Block {
    Heading(String),
    Text(String),
    /// A muted line: context, hints, footnotes.
    Note(String),
    Table(Table),
    /// Something went wrong; the text says what and how to do it right.
    Error(String),
    Form(Form),
    /// Buttons under a message.
    Actions(Vec<Action>),
    /// A chart or map to attach.
    Image(ImageRef),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reply {
    pub blocks: Vec<Block>,
    /// Only the asking person sees it (the default for command answers).
    pub ephemeral: bool,
}

impl Reply {
    pub fn new() -> Reply {
        Reply {
            blocks: Vec::new(),
            ephemeral: true,
        }
    }

    pub fn error(msg: impl Into<String>) -> Reply {
        Reply {
            blocks: vec![Block::Error(msg.into())],
            ephemeral: true,
        }
    }

    pub fn heading(mut self, s: impl Into<String>) -> Reply {
        self.blocks.push(Block::Heading(s.into()));
        self
    }

    pub fn text(mut self, s: impl Into<String>) -> Reply {
        self.blocks.push(Block::Text(s.into()));
        self
    }

    pub fn note(mut self, s: impl Into<String>) -> Reply {
        self.blocks.push(Block::Note(s.into()));
        self
    }

    pub fn table(mut self, t: Table) -> Reply {
        self.blocks.push(Block::Table(t));
        self
    }

    pub fn push(&mut self, b: Block) {
        self.blocks.push(b);
    }

    pub fn is_error(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::Error(_)))
    }

    pub fn form(&self) -> Option<&Form> {
        self.blocks.iter().find_map(|b| match b {
            Block::Form(f) => Some(f),
            _ => None,
        })
    }
}
