//! Review-meeting vocabulary: tiers, agenda sections and each tier's default template.

pub const TIERS: [&str; 4] = ["operational", "tactical", "strategic", "coordination"];
pub const SECTIONS: [&str; 6] = ["actions", "off_track", "alerts", "gaps", "decisions", "aob"];

/// The agenda sections of a tier, in order (PRODUCT §8), unless the manifest sets its own.
pub fn default_template(tier: &str) -> Vec<&'static str> {
    match tier {
        "strategic" => vec!["actions", "off_track", "alerts", "gaps", "decisions", "aob"],
        "coordination" => vec!["actions", "alerts", "decisions", "aob"],
        _ => vec!["actions", "off_track", "alerts", "decisions", "aob"],
    }
}
