//! Pictures as Discord attachments. A reply's picture ([`Block::Image`]) is rendered to
//! PNG when the message is sent and uploaded with it (multipart: `payload_json` plus
//! `files[0]`); the alt text becomes the attachment's `description` and the embed shows
//! the picture through `attachment://<file>`. When drawing fails the text still goes,
//! with a note instead of the picture.
//!
//! One picture per message: serenity 0.12 numbers every [`CreateAttachment`] 0 outside
//! its own message builders, and baton's replies carry at most one (`kr`, `status`,
//! `map`); a further picture stays in the text as its alt line.

use serde_json::{Value, json};
use serenity::builder::CreateAttachment;

use crate::app::App;
use crate::bot::render::discord as render;
use crate::bot::reply::{Block, ImageRef, Reply};

/// Discord's limit for an attachment description.
pub const DESCRIPTION_MAX: usize = 1024;

/// Said in place of a picture that could not be drawn.
pub const NOT_DRAWN: &str = "The picture could not be drawn; the figures above are complete.";

/// The picture a Discord message for `reply` carries, if any.
pub fn picture(reply: &Reply) -> Option<&ImageRef> {
    reply.blocks.iter().find_map(|b| match b {
        Block::Image(i) => Some(i),
        _ => None,
    })
}

/// The message for `reply` and the files to upload with it: its picture rendered from the
/// figures as they are now, or none (and a note) when drawing fails.
pub async fn message(
    app: &App,
    org_id: i64,
    reply: &Reply,
    pointer: &str,
) -> (Value, Vec<CreateAttachment>) {
    let Some(image) = picture(reply) else {
        return (render::message(reply, pointer), Vec::new());
    };
    match crate::app::pictures::render(app, org_id, image).await {
        Ok(png) => {
            let mut msg = render::message(reply, pointer);
            let file = attach(&mut msg, image, png.bytes);
            (msg, vec![file])
        }
        Err(e) => {
            tracing::warn!(error = %e, kind = %image.kind, "a picture for Discord could not be drawn");
            let r = reply.clone().note(NOT_DRAWN);
            (render::message(&r, pointer), Vec::new())
        }
    }
}

/// Declares `png` as the message's attachment 0 (file name, alt text as description) and
/// shows it in the embed. Returns the file to upload as `files[0]`.
pub fn attach(msg: &mut Value, image: &ImageRef, png: Vec<u8>) -> CreateAttachment {
    let name = crate::app::pictures::file_name(image);
    let file = CreateAttachment::bytes(png, name.clone())
        .description(render::truncate(&image.alt, DESCRIPTION_MAX));
    // Serialises as `{"id": 0, "filename": …, "description": …}`, matching `files[0]`.
    msg["attachments"] = json!([&file]);
    if let Some(embed) = msg["embeds"].get_mut(0) {
        embed["image"] = json!({ "url": format!("attachment://{name}") });
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(alt: &str) -> ImageRef {
        ImageRef {
            kind: crate::app::pictures::KR_TREND.into(),
            subject: Some("EO-K1".into()),
            alt: alt.into(),
        }
    }

    #[test]
    fn the_embed_shows_the_attachment_described_by_its_alt_text() {
        let mut reply = Reply::new().heading("EO-K1").text("8 of 10");
        reply.push(Block::Image(image("Trend of EO-K1: 8 of 10, on track")));
        let mut msg = render::message(&reply, render::DEFAULT_POINTER);
        let file = attach(&mut msg, picture(&reply).unwrap(), b"\x89PNG".to_vec());
        assert_eq!(file.filename, "kr-EO-K1.png");
        assert_eq!(
            file.description.as_deref(),
            Some("Trend of EO-K1: 8 of 10, on track")
        );
        assert_eq!(
            msg["attachments"],
            json!([{"id": 0, "filename": "kr-EO-K1.png", "description": "Trend of EO-K1: 8 of 10, on track"}])
        );
        assert_eq!(
            msg["embeds"][0]["image"]["url"],
            "attachment://kr-EO-K1.png"
        );
    }

    #[test]
    fn long_alt_text_is_cut_to_discords_limit_and_only_the_first_picture_is_attached() {
        let long = "x".repeat(3000);
        let mut reply = Reply::new();
        reply.push(Block::Image(image(&long)));
        reply.push(Block::Image(image("second")));
        assert_eq!(picture(&reply).unwrap().alt, long);
        let mut msg = render::message(&reply, render::DEFAULT_POINTER);
        let file = attach(&mut msg, picture(&reply).unwrap(), vec![1]);
        assert_eq!(file.description.unwrap().chars().count(), DESCRIPTION_MAX);
        assert_eq!(msg["attachments"].as_array().unwrap().len(), 1);
    }
}
