//! Says what a file that FFmpeg could not use as a video actually is, from its first bytes and,
//! for MP4/MOV files, from its box structure: a picture or text under a video name, an MP4 cut
//! short or without its index, a file with audio but no video track, a video track with no frames.
//!
//! Used to explain a failure after OpenCV/FFmpeg has refused a file, and to estimate how many
//! frames a clip holds (to start a batch's longest clips first); it never decides on its own that
//! a file is bad. Reads are bounded (a few kB of header, the `moov` box up to
//! [`MAX_MOOV_BYTES`]) and the box walk stops after [`MAX_BOXES`], so damaged sizes cannot make it
//! read or allocate much. Generic over `Read + Seek` so tests run on in-memory bytes.

use std::io::{Read, Seek, SeekFrom};

/// The index box is read whole only up to this size (phone clips: tens of kB).
pub const MAX_MOOV_BYTES: u64 = 64 << 20;
/// Top-level or nested boxes looked at before giving up.
pub const MAX_BOXES: usize = 10_000;

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// Not a video container: a picture, a document, text...
    NotVideo { what: &'static str },
    /// An MP4/MOV that ends inside a box: `len` bytes where the box needs `needed`.
    CutShort { kind: String, len: u64, needed: u64, has_index: bool },
    /// An MP4/MOV with no `moov` box, which holds the index of every frame.
    NoIndex,
    /// An MP4/MOV whose `moov` box does not hold well-formed tracks (sizes that do not fit, a
    /// track without a handler).
    DamagedIndex,
    /// An MP4/MOV whose tracks include no video; `audio` when there is a sound track.
    NoVideoTrack { audio: bool },
    /// An MP4/MOV whose video track lists no frames.
    EmptyVideoTrack,
    /// Nothing recognisably wrong.
    Unknown,
}

const TOP_LEVEL: [&[u8; 4]; 11] =
    [b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx", b"moof"];

/// Boxes found directly inside `moov` in MP4 and QuickTime files.
const MOOV_CHILDREN: [&[u8; 4]; 13] = [
    b"mvhd", b"trak", b"udta", b"meta", b"iods", b"mvex", b"free", b"skip", b"uuid", b"pssh", b"ctab", b"clip", b"prfl",
];
/// Boxes every sample table needs (sizes may be `stz2`, offsets `co64`): one of each group.
const STBL_REQUIRED: [&[&[u8; 4]]; 5] = [&[b"stsd"], &[b"stts"], &[b"stsc"], &[b"stsz", b"stz2"], &[b"stco", b"co64"]];

/// Looks at `r` (a file of `len` bytes).
pub fn sniff<R: Read + Seek>(r: &mut R, len: u64) -> std::io::Result<Sniffed> {
    let mut head = vec![0u8; 4096.min(len) as usize];
    r.seek(SeekFrom::Start(0))?;
    r.read_exact(&mut head)?;
    if head.len() >= 8 && TOP_LEVEL.iter().any(|k| &head[4..8] == *k) {
        return mp4(r, len);
    }
    Ok(magic(&head).map_or(Sniffed::Unknown, |what| Sniffed::NotVideo { what }))
}

fn magic(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 7] = [
        (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
        (b"\xff\xd8\xff", "a JPEG picture"),
        (b"GIF8", "a GIF picture"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"BM", "a BMP picture"),
        (b"\x1f\x8b", "a gzip archive"),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return Some(what);
    }
    // Text: valid UTF-8 (a character cut at the end of the sample is fine) with no control bytes.
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return None,
    };
    if valid.is_empty() || valid.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return None;
    }
    Some(if valid.trim_start().starts_with(['{', '[']) { "JSON text" } else { "text" })
}

/// A box: its four-letter kind, where its payload starts and where it ends (which may lie past
/// the end of the file when the file is cut short).
type BoxSpan = ([u8; 4], u64, u64);

/// The boxes in `[start, end)`, and whether the walk stopped at something that is not a box (a
/// kind that is not four printable characters, a size smaller than its header).
fn boxes<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> std::io::Result<(Vec<BoxSpan>, bool)> {
    let mut out = Vec::new();
    let mut off = start;
    while off + 8 <= end && out.len() < MAX_BOXES {
        let mut h = [0u8; 16];
        r.seek(SeekFrom::Start(off))?;
        let got = r.read(&mut h)?;
        let mut size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let kind = [h[4], h[5], h[6], h[7]];
        let mut header = 8;
        if size == 1 && got >= 16 {
            size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
            header = 16;
        } else if size == 0 {
            size = end - off;
        }
        if size < header || !kind.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Ok((out, true));
        }
        let box_end = off.saturating_add(size);
        out.push((kind, off + header, box_end));
        off = box_end;
    }
    Ok((out, false))
}

/// The children of a box inside the index, or `None` when they do not fit their parent.
fn children<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> std::io::Result<Option<Vec<BoxSpan>>> {
    let (found, junk) = boxes(r, start, end)?;
    Ok((!junk && found.iter().all(|b| b.2 <= end)).then_some(found))
}

fn mp4<R: Read + Seek>(r: &mut R, len: u64) -> std::io::Result<Sniffed> {
    let tracks = match index(r, len)? {
        Index::Tracks(tracks) => tracks,
        Index::Problem(problem) => return Ok(problem),
    };
    let video = tracks.iter().any(|t| &t.handler == b"vide");
    let audio = tracks.iter().any(|t| &t.handler == b"soun");
    let empty_video = tracks.iter().any(|t| &t.handler == b"vide" && t.samples == Some(0));
    Ok(if !video {
        Sniffed::NoVideoTrack { audio }
    } else if empty_video {
        Sniffed::EmptyVideoTrack
    } else {
        Sniffed::Unknown
    })
}

/// The frames an MP4/MOV's first video track lists (its `stsz` sample count, or for a
/// fragmented file the sum of its fragments'), or `None` for another container or an index that
/// does not read cleanly. A cheap estimate of how much work a clip is, to order a batch by; it
/// never judges the clip (the header may over-count).
pub fn video_frames<R: Read + Seek>(r: &mut R, len: u64) -> std::io::Result<Option<u64>> {
    let mut head = [0u8; 8];
    r.seek(SeekFrom::Start(0))?;
    if len < 8 || r.read_exact(&mut head).is_err() || !TOP_LEVEL.iter().any(|k| &head[4..8] == *k) {
        return Ok(None);
    }
    let Index::Tracks(tracks) = index(r, len)? else { return Ok(None) };
    let Some(video) = tracks.iter().find(|t| &t.handler == b"vide") else { return Ok(None) };
    match (video.samples, video.id) {
        (Some(n), _) if n > 0 => Ok(Some(u64::from(n))),
        // A fragmented file (phones' and browsers' recorders write them): the index lists no
        // frames, each fragment (`moof`) lists its own.
        (_, Some(id)) => fragment_frames(r, len, id),
        _ => Ok(None),
    }
}

/// Frames the fragments of a fragmented MP4 list for track `id`: the `trun` sample counts of
/// every `traf` whose `tfhd` names the track. `None` when there are no fragments.
fn fragment_frames<R: Read + Seek>(r: &mut R, len: u64, id: u32) -> std::io::Result<Option<u64>> {
    let (top, _) = boxes(r, 0, len)?;
    let mut frames = None;
    for &(_, start, end) in top.iter().filter(|b| &b.0 == b"moof" && b.2 <= len) {
        let Some(moof) = children(r, start, end)? else { continue };
        for &(_, t_start, t_end) in moof.iter().filter(|b| &b.0 == b"traf") {
            let Some(traf) = children(r, t_start, t_end)? else { continue };
            let Some(&(_, h_start, h_end)) = traf.iter().find(|b| &b.0 == b"tfhd") else { continue };
            if h_end < h_start + 8 || u32::from_be_bytes(read_at::<4, R>(r, h_start + 4)?) != id {
                continue;
            }
            for &(_, u_start, _) in traf.iter().filter(|b| &b.0 == b"trun" && b.2 >= b.1 + 8) {
                *frames.get_or_insert(0) += u64::from(u32::from_be_bytes(read_at::<4, R>(r, u_start + 4)?));
            }
        }
    }
    Ok(frames)
}

/// An MP4/MOV's index read: its tracks, or what is wrong with it.
enum Index {
    Tracks(Vec<Track>),
    Problem(Sniffed),
}

fn index<R: Read + Seek>(r: &mut R, len: u64) -> std::io::Result<Index> {
    let (top, junk) = boxes(r, 0, len)?;
    // Past an unknown top-level kind the offsets mean nothing: only known boxes are trusted.
    let known: Vec<&BoxSpan> = top.iter().take_while(|b| TOP_LEVEL.iter().any(|k| b.0 == **k)).collect();
    let moov = known.iter().find(|b| &b.0 == b"moov");
    if let Some((kind, _, end)) = known.iter().find(|b| b.2 > len) {
        return Ok(Index::Problem(Sniffed::CutShort {
            kind: String::from_utf8_lossy(kind).into_owned(),
            len,
            needed: *end,
            has_index: moov.is_some_and(|m| m.2 <= len),
        }));
    }
    let Some(&&(_, start, end)) = moov else {
        let damaged = junk || known.len() < top.len();
        return Ok(Index::Problem(if damaged { Sniffed::Unknown } else { Sniffed::NoIndex }));
    };
    if end - start > MAX_MOOV_BYTES {
        return Ok(Index::Problem(Sniffed::Unknown));
    }
    let moov_children = match children(r, start, end)? {
        // Every real index has its movie header, and only boxes that belong there.
        Some(c) if c.iter().any(|b| &b.0 == b"mvhd") && c.iter().all(|b| MOOV_CHILDREN.iter().any(|k| b.0 == **k)) => c,
        _ => return Ok(Index::Problem(Sniffed::DamagedIndex)),
    };
    let mut tracks = Vec::new();
    for &(_, t_start, t_end) in moov_children.iter().filter(|b| &b.0 == b"trak") {
        let Some(track) = Track::read(r, t_start, t_end)? else { return Ok(Index::Problem(Sniffed::DamagedIndex)) };
        tracks.push(track);
    }
    Ok(Index::Tracks(tracks))
}

/// What the index says about one track.
struct Track {
    handler: [u8; 4],
    /// Sample count from `stsz`, when there is one.
    samples: Option<u32>,
    /// The track's number (`tkhd`), which a fragmented file's fragments refer to.
    id: Option<u32>,
}

impl Track {
    /// `None` when the track's boxes are damaged (missing `mdia`/`hdlr`, sizes that do not fit).
    fn read<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> std::io::Result<Option<Track>> {
        let find = |list: &[BoxSpan], kind: &[u8; 4]| list.iter().find(|b| &b.0 == kind).map(|b| (b.1, b.2));
        let Some(trak) = children(r, start, end)? else { return Ok(None) };
        let Some((m_start, m_end)) = find(&trak, b"mdia") else { return Ok(None) };
        let Some(mdia) = children(r, m_start, m_end)? else { return Ok(None) };
        let Some((h_start, h_end)) = find(&mdia, b"hdlr") else { return Ok(None) };
        if h_end < h_start + 12 {
            return Ok(None);
        }
        let handler = read_at::<4, R>(r, h_start + 8)?;
        if !handler.iter().all(u8::is_ascii_alphanumeric) {
            return Ok(None);
        }
        let id = match find(&trak, b"tkhd") {
            Some((k_start, k_end)) if k_end >= k_start + 24 => {
                let at = if read_at::<1, R>(r, k_start)?[0] == 1 { k_start + 20 } else { k_start + 12 };
                Some(u32::from_be_bytes(read_at::<4, R>(r, at)?))
            }
            _ => None,
        };
        let mut samples = None;
        if let Some((i_start, i_end)) = find(&mdia, b"minf") {
            let Some(minf) = children(r, i_start, i_end)? else { return Ok(None) };
            if let Some((s_start, s_end)) = find(&minf, b"stbl") {
                let Some(stbl) = children(r, s_start, s_end)? else { return Ok(None) };
                if !STBL_REQUIRED.iter().all(|group| group.iter().any(|k| find(&stbl, k).is_some())) {
                    return Ok(None);
                }
                if let Some((z_start, z_end)) = find(&stbl, b"stsz") {
                    if z_end >= z_start + 12 {
                        samples = Some(u32::from_be_bytes(read_at::<4, R>(r, z_start + 8)?));
                    }
                }
            }
        }
        Ok(Some(Track { handler, samples, id }))
    }
}

fn read_at<const N: usize, R: Read + Seek>(r: &mut R, at: u64) -> std::io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    r.seek(SeekFrom::Start(at))?;
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// MP4 indexes built in memory, for tests here and elsewhere.
#[cfg(test)]
pub(crate) mod fixtures {
    pub fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    pub fn moov(traks: &[Vec<u8>]) -> Vec<u8> {
        bx(b"moov", &[bx(b"mvhd", &[0u8; 100]), traks.concat()].concat())
    }

    pub fn trak(handler: &[u8; 4], samples: u32) -> Vec<u8> {
        let hdlr = bx(b"hdlr", &[&[0u8; 8][..], handler, &[0u8; 12]].concat());
        let table: Vec<u8> = [b"stsd", b"stts", b"stsc", b"stco"].iter().flat_map(|k| bx(k, &[0u8; 8])).collect();
        let stsz = bx(b"stsz", &[&[0u8; 8][..], &samples.to_be_bytes()].concat());
        let minf = bx(b"minf", &bx(b"stbl", &[table, stsz].concat()));
        let tkhd = bx(b"tkhd", &[&[0u8; 12][..], &track_id(handler).to_be_bytes(), &[0u8; 68]].concat());
        bx(b"trak", &[tkhd, bx(b"mdia", &[hdlr, minf].concat())].concat())
    }

    /// Video is track 1, anything else track 2.
    fn track_id(handler: &[u8; 4]) -> u32 {
        if handler == b"vide" {
            1
        } else {
            2
        }
    }

    /// A fragmented MP4: an index that lists no frames, then one fragment per entry of `frames`
    /// (each with a sound run of 50 samples before the video's).
    pub fn fragmented_mp4(frames: &[u32]) -> Vec<u8> {
        let run = |handler: &[u8; 4], n: u32| {
            let tfhd = bx(b"tfhd", &[&[0u8; 4][..], &track_id(handler).to_be_bytes()].concat());
            bx(b"traf", &[tfhd, bx(b"trun", &[&[0u8; 4][..], &n.to_be_bytes()].concat())].concat())
        };
        let mut out = [bx(b"ftyp", b"iso5\0\0\0\0"), moov(&[trak(b"vide", 0), trak(b"soun", 0)])].concat();
        for &n in frames {
            out.extend(bx(b"moof", &[bx(b"mfhd", &[0u8; 8]), run(b"soun", 50), run(b"vide", n)].concat()));
            out.extend(bx(b"mdat", &[7u8; 64]));
        }
        out
    }

    /// A whole MP4 (header, index, data) whose video track lists `frames` frames.
    pub fn mp4_with_frames(frames: u32) -> Vec<u8> {
        [bx(b"ftyp", b"isom\0\0\0\0"), moov(&[trak(b"soun", 10), trak(b"vide", frames)]), bx(b"mdat", &[7u8; 100])]
            .concat()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{bx, fragmented_mp4, moov, mp4_with_frames, trak};
    use super::*;
    use std::io::Cursor;

    fn sniff_bytes(b: &[u8]) -> Sniffed {
        sniff(&mut Cursor::new(b), b.len() as u64).expect("in memory")
    }

    #[test]
    fn pictures_and_text_are_named() {
        assert_eq!(sniff_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Sniffed::NotVideo { what: "a PNG picture" });
        assert_eq!(sniff_bytes(b"deadlift 180 x 3\n"), Sniffed::NotVideo { what: "text" });
        assert_eq!(sniff_bytes(b" {\"reps\": 3}"), Sniffed::NotVideo { what: "JSON text" });
        assert_eq!(sniff_bytes(&[0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0]), Sniffed::Unknown, "Matroska is a video");
    }

    #[test]
    fn frames_come_from_the_video_track() {
        let frames = |b: &[u8]| video_frames(&mut Cursor::new(b), b.len() as u64).expect("in memory");
        let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
        let mdat = bx(b"mdat", &[7u8; 100]);
        assert_eq!(frames(&mp4_with_frames(300)), Some(300));
        assert_eq!(frames(&fragmented_mp4(&[120, 130, 14])), Some(264), "fragments, sound runs left out");
        assert_eq!(frames(&[ftyp.clone(), moov(&[trak(b"soun", 10)])].concat()), None, "no video track");
        assert_eq!(frames(&[ftyp.clone(), mdat].concat()), None, "no index");
        assert_eq!(frames(b"deadlift 180 x 3\n"), None);
        assert_eq!(frames(b""), None);
    }

    #[test]
    fn mp4_structure_problems_are_found() {
        let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
        let mdat = bx(b"mdat", &[7u8; 100]);
        let good_moov = moov(&[trak(b"soun", 10), trak(b"vide", 30)]);
        let whole = [ftyp.clone(), mdat.clone(), good_moov.clone()].concat();
        assert_eq!(sniff_bytes(&whole), Sniffed::Unknown);
        let cut = &whole[..ftyp.len() + 50];
        assert_eq!(
            sniff_bytes(cut),
            Sniffed::CutShort {
                kind: "mdat".into(),
                len: cut.len() as u64,
                needed: (ftyp.len() + 108) as u64,
                has_index: false
            }
        );
        assert_eq!(sniff_bytes(&[ftyp.clone(), mdat.clone()].concat()), Sniffed::NoIndex);
        let audio = [ftyp.clone(), moov(&[trak(b"soun", 10)])].concat();
        assert_eq!(sniff_bytes(&audio), Sniffed::NoVideoTrack { audio: true });
        let empty = [ftyp.clone(), moov(&[trak(b"vide", 0)]), mdat.clone()].concat();
        assert_eq!(sniff_bytes(&empty), Sniffed::EmptyVideoTrack);
        // A bit flip in a handler or a size inside the index: damaged, not "no video".
        let mut flipped = whole.clone();
        let at = whole.windows(4).rposition(|w| w == b"vide").expect("handler");
        flipped[at] ^= 0x80;
        assert_eq!(sniff_bytes(&flipped), Sniffed::DamagedIndex);
        let mut oversized = whole.clone();
        let at = whole.windows(4).rposition(|w| w == b"mdia").expect("mdia") - 4;
        oversized[at] = 0x7f;
        assert_eq!(sniff_bytes(&oversized), Sniffed::DamagedIndex);
        for (from, to) in [(b"trak", b"trai"), (b"stts", b"suts")] {
            let mut renamed = whole.clone();
            let at = whole.windows(4).rposition(|w| w == from).expect("box");
            renamed[at..at + 4].copy_from_slice(to);
            assert_eq!(sniff_bytes(&renamed), Sniffed::DamagedIndex, "{}", String::from_utf8_lossy(to));
        }
        // A moov claiming 9 bytes: what follows is not a box, and nothing is blamed on it.
        let mut tiny = [ftyp, mdat, good_moov].concat();
        let at = tiny.windows(4).position(|w| w == b"moov").expect("moov") - 4;
        tiny[at..at + 4].copy_from_slice(&9u32.to_be_bytes());
        assert_eq!(sniff_bytes(&tiny), Sniffed::DamagedIndex);
    }

    #[test]
    fn absurd_box_sizes_do_not_read_far() {
        // A moov claiming 2^63 bytes, and a run of zero-size boxes.
        let mut b = bx(b"ftyp", b"isom\0\0\0\0");
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(b"moov");
        b.extend_from_slice(&(1u64 << 63).to_be_bytes());
        assert!(matches!(sniff_bytes(&b), Sniffed::CutShort { has_index: false, .. }));
        assert_eq!(sniff_bytes(&[0u8, 0, 0, 8, b'f', b'r', b'e', b'e'].repeat(20_000)), Sniffed::NoIndex);
    }
}
