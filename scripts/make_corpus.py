#!/usr/bin/env python3
"""Derive a corpus of malformed video inputs from a real clip, for robustness tests.

    python3 scripts/make_corpus.py SRC_CLIPS_DIR OUT_DIR [--source posereader_bad.mp4]

Writes OUT_DIR/<case>.* (at least 50 broken or odd files) and OUT_DIR/CORPUS.tsv, one line per
case: `name<TAB>in_folder<TAB>what`. `in_folder` is `yes` when `formcheck analyze OUT_DIR` picks
the case up by itself (a video extension, not a folder), `no` when it has to be named explicitly
(an mp4 called .txt, a folder called x.mp4).

Needs python3 (standard library only) and the ffmpeg binary. The output is deterministic: every
random choice comes from a fixed seed, and ffmpeg runs with bit-exact flags, so a failure seen
once can be reproduced from the same source clip.

Cases: truncations at many offsets of a moov-at-end and a faststart copy; garbage and bit flips in
the ftyp/moov boxes and in the mdat payload; files that are not video at all under a video name;
video streams with no frames; audio-only files; absurd sizes, rates and sample counts written into
the header boxes (tkhd, stsd, mdhd, stts, stsz, stco); a one-frame clip and a 2x2 clip; a folder
named x.mp4, a file without read permission, a symlink loop, a dangling symlink, an empty file.
"""

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

DEFAULT_SOURCE = "posereader_bad.mp4"
# Keeps decodable cases quick: the pose model runs on every frame that decodes.
MAX_SOURCE_S = 1.0
# One thread and bit-exact muxing: the same bytes on every run.
X264 = ["-preset", "veryfast", "-threads", "1", "-fflags", "+bitexact"]
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}


def ffmpeg(*args):
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", *args]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if res.returncode != 0:
        sys.exit("make_corpus: %s failed: %s" % (" ".join(cmd), res.stderr.decode(errors="replace")))


# ---- MP4 boxes ----------------------------------------------------------------------------------

def boxes(data, start=0, end=None, path=()):
    """Yields (path, offset, header_size, size) for every box, depth first."""
    end = len(data) if end is None else end
    off = start
    while off + 8 <= end:
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
            header = 16
        elif size == 0:
            size = end - off
        if size < header:
            return
        here = path + (kind,)
        yield here, off, header, size
        if kind in CONTAINERS:
            yield from boxes(data, off + header, off + size, here)
        off += size


def video_box(data, kind):
    """Offset of the payload of box `kind` inside the video track (handler 'vide'), and its size."""
    traks = [(o, h, s) for p, o, h, s in boxes(data) if p[-1] == b"trak"]
    for o, h, s in traks:
        inner = list(boxes(data, o + h, o + s, (b"trak",)))
        hdlr = [(oo, hh) for p, oo, hh, _ in inner if p[-1] == b"hdlr"]
        if not hdlr or data[hdlr[0][0] + hdlr[0][1] + 8:hdlr[0][0] + hdlr[0][1] + 12] != b"vide":
            continue
        for p, oo, hh, ss in inner:
            if p[-1] == kind:
                return oo + hh, ss - hh
    raise SystemExit("make_corpus: no %s box in the video track" % kind.decode())


def top_box(data, kind):
    for p, o, h, s in boxes(data):
        if p == (kind,):
            return o, h, s
    raise SystemExit("make_corpus: no top-level %s box" % kind.decode())


def patched(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def flip_bits(data, lo, hi, count, seed):
    out = bytearray(data)
    rng = random.Random(seed)
    for _ in range(count):
        i = rng.randrange(lo, hi)
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def garbage(data, lo, length, seed):
    out = bytearray(data)
    rng = random.Random(seed)
    for i in range(lo, min(lo + length, len(out))):
        out[i] = rng.randrange(256)
    return bytes(out)


# ---- the corpus ---------------------------------------------------------------------------------

class Corpus:
    def __init__(self, out_dir):
        self.out = out_dir
        self.rows = []

    def path(self, name):
        return os.path.join(self.out, name)

    def add(self, name, what, in_folder=True):
        self.rows.append((name, "yes" if in_folder else "no", what))

    def write(self, name, data, what, in_folder=True):
        with open(self.path(name), "wb") as f:
            f.write(data)
        self.add(name, what, in_folder)

    def manifest(self):
        with open(self.path("CORPUS.tsv"), "w", encoding="utf-8") as f:
            f.write("name\tin_folder\twhat\n")
            for row in self.rows:
                f.write("\t".join(row) + "\n")


def make_sources(src, work):
    """The real clip cut to MAX_SOURCE_S, video only: index at the end, and index first."""
    tail = os.path.join(work, "tail.mp4")
    fast = os.path.join(work, "fast.mp4")
    common = ["-i", src, "-t", str(MAX_SOURCE_S), "-map", "0:v:0", "-c", "copy", "-an",
              "-map_metadata", "-1", "-write_tmcd", "0", "-fflags", "+bitexact"]
    ffmpeg(*common, tail)
    ffmpeg(*common, "-movflags", "+faststart", fast)
    return tail, fast


def truncations(c, tail, fast):
    for label, data in (("tail", tail), ("fast", fast)):
        n = len(data)
        for cut_name, cut in (("0b", 0), ("8b", 8), ("100b", 100), ("1pct", n // 100), ("10pct", n // 10),
                              ("50pct", n // 2), ("90pct", n * 9 // 10), ("99pct", n * 99 // 100),
                              ("minus1b", n - 1)):
            c.write("trunc_%s_%s.mp4" % (label, cut_name), data[:cut],
                    "%s copy (index %s) cut to %d of %d bytes" % (
                        label, "at the end" if label == "tail" else "first", cut, n))


def header_damage(c, tail, fast):
    ftyp, _, _ = top_box(tail, b"ftyp")
    c.write("hdr_ftyp_type_garbage.mp4", tail[:ftyp + 4] + b"\x00\xff\x13\x37" + tail[ftyp + 8:],
            "ftyp box type overwritten")
    c.write("hdr_ftyp_brand_garbage.mp4", garbage(tail, ftyp + 8, 8, 11), "ftyp brands replaced by random bytes")
    for label, data in (("tail", tail), ("fast", fast)):
        moov, _, size = top_box(data, b"moov")
        c.write("hdr_%s_moov_renamed.mp4" % label, data[:moov + 4] + b"free" + data[moov + 8:],
                "moov box renamed to free: no index")
        c.write("hdr_%s_moov_size_huge.mp4" % label, patched(data, moov, ">I", 0xFFFFFFF0),
                "moov box claims 4 GB")
        c.write("hdr_%s_moov_size_tiny.mp4" % label, patched(data, moov, ">I", 9), "moov box claims 9 bytes")
        c.write("hdr_%s_moov_garbage_start.mp4" % label, garbage(data, moov + 8, 64, 21),
                "first 64 bytes inside moov random")
        for seed in (1, 2, 3):
            c.write("hdr_%s_moov_bitflips_s%d.mp4" % (label, seed), flip_bits(data, moov + 8, moov + size, 24, seed),
                    "24 random bit flips inside moov (seed %d)" % seed)
    stco, _ = video_box(tail, b"stco")
    c.write("hdr_stco_beyond_eof.mp4", patched(tail, stco + 8, ">I", 0x7FFFFFF0),
            "first chunk offset points past the end of the file")
    stsd, _ = video_box(tail, b"stsd")
    c.write("hdr_stsd_avcc_garbage.mp4", garbage(tail, stsd + 8 + 86 + 8, 32, 31),
            "avcC decoder configuration (SPS/PPS) random")


def stream_damage(c, tail, fast):
    mdat, h, size = top_box(tail, b"mdat")
    lo, hi = mdat + h, mdat + size
    c.write("mdat_bitflips_few.mp4", flip_bits(tail, lo, hi, 20, 41), "20 bit flips in the frame data")
    c.write("mdat_bitflips_many.mp4", flip_bits(tail, lo, hi, 5000, 42), "5000 bit flips in the frame data")
    c.write("mdat_garbage_middle.mp4", garbage(tail, lo + (hi - lo) // 3, 64 * 1024, 43),
            "64 KiB of random bytes in the middle of the frame data")
    zeroed = bytearray(tail)
    zeroed[lo + (hi - lo) // 4:lo + (hi - lo) * 3 // 4] = bytes((hi - lo) * 3 // 4 - (hi - lo) // 4)
    c.write("mdat_zeroed_half.mp4", bytes(zeroed), "middle half of the frame data zeroed")
    c.write("mdat_zeroed_all.mp4", tail[:lo] + bytes(hi - lo) + tail[hi:], "all frame data zeroed")
    mdat_f, hf, size_f = top_box(fast, b"mdat")
    c.write("mdat_fast_garbage_start.mp4", garbage(fast, mdat_f + hf, 32 * 1024, 44),
            "faststart copy, first 32 KiB of frame data (the key frame) random")


def absurd_header(c, tail):
    tkhd, _ = video_box(tail, b"tkhd")
    base = tkhd + (88 if tail[tkhd] == 1 else 76)
    for label, value in (("65535", 65535), ("1", 1), ("0", 0)):
        data = patched(patched(tail, base, ">I", value << 16), base + 4, ">I", value << 16)
        c.write("absurd_tkhd_%s.mp4" % label, data, "tkhd display size %dx%d" % (value, value))
    stsd, _ = video_box(tail, b"stsd")
    entry = stsd + 8  # version/flags, entry count
    for label, value in (("65535", 65535), ("1", 1), ("0", 0)):
        data = patched(patched(tail, entry + 32, ">H", value), entry + 34, ">H", value)
        c.write("absurd_stsd_%s.mp4" % label, data, "stsd sample entry size %dx%d" % (value, value))
    mdhd, _ = video_box(tail, b"mdhd")
    ts = mdhd + (20 if tail[mdhd] == 1 else 12)
    c.write("absurd_mdhd_timescale_0.mp4", patched(tail, ts, ">I", 0), "media timescale 0")
    c.write("absurd_mdhd_timescale_1.mp4", patched(tail, ts, ">I", 1), "media timescale 1 tick/s")
    c.write("absurd_mdhd_duration_huge.mp4",
            patched(tail, ts + 4, ">Q" if tail[mdhd] == 1 else ">I", 0xFFFFFFF0), "media duration huge")
    stts, _ = video_box(tail, b"stts")
    c.write("absurd_stts_count_huge.mp4", patched(tail, stts + 8, ">I", 0x7FFFFFFF),
            "stts: 2^31 samples in the first entry")
    c.write("absurd_stts_delta_0.mp4", patched(tail, stts + 12, ">I", 0), "stts: every frame at the same time")
    c.write("absurd_stts_delta_huge.mp4", patched(tail, stts + 12, ">I", 0x7FFFFFFF),
            "stts: frames a day apart")
    c.write("absurd_stts_entries_huge.mp4", patched(tail, stts + 4, ">I", 0x7FFFFFFF),
            "stts: 2^31 entries in a 24-byte box")
    stsz, _ = video_box(tail, b"stsz")
    c.write("absurd_stsz_count_huge.mp4", patched(tail, stsz + 8, ">I", 0x7FFFFFFF),
            "stsz: 2^31 sample sizes in a small box")
    c.write("absurd_stsz_count_0.mp4", patched(tail, stsz + 8, ">I", 0), "stsz: no samples")
    c.write("absurd_stsz_size_huge.mp4", patched(tail, stsz + 12, ">I", 0x7FFFFFFF),
            "stsz: first frame 2 GB long")


def not_video(c, work, src_tail_path, tail):
    png = os.path.join(work, "frame.png")
    ffmpeg("-i", src_tail_path, "-frames:v", "1", "-fflags", "+bitexact", png)
    with open(png, "rb") as f:
        c.write("png_named.mp4", f.read(), "a PNG picture named .mp4")
    c.write("text_named.mp4", b"deadlift 180 kg x 3, felt good\n" * 40, "a text file named .mp4")
    c.write("json_named.mp4", b'{"clip": "monday.mp4", "reps": [1, 2, 3], "note": "not a video"}\n',
            "a JSON file named .mp4")
    rng = random.Random(51)
    c.write("random_bytes.mp4", bytes(rng.randrange(256) for _ in range(200_000)), "200 kB of random bytes")
    c.write("mp4_named.txt", tail, "a good mp4 named .txt (given explicitly)", in_folder=False)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", "-fflags", "+bitexact",
           c.path("audio_only_aac.mp4"))
    c.add("audio_only_aac.mp4", "audio only: a 2 s sine in AAC, no video stream")
    m4a = os.path.join(work, "tone.m4a")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=1", "-c:a", "aac", "-fflags", "+bitexact", m4a)
    shutil.copy(m4a, c.path("audio_only_m4a.mp4"))
    c.add("audio_only_m4a.mp4", "an .m4a (audio only) named .mp4")


def odd_streams(c, src_tail_path):
    ffmpeg("-i", src_tail_path, "-frames:v", "0", "-c", "copy", "-fflags", "+bitexact", c.path("zero_frames.mp4"))
    c.add("zero_frames.mp4", "video track with no samples (-frames:v 0)")
    ffmpeg("-i", src_tail_path, "-frames:v", "1", "-c", "copy", "-fflags", "+bitexact", c.path("one_frame.mp4"))
    c.add("one_frame.mp4", "a one-frame clip")
    ffmpeg("-i", src_tail_path, "-vf", "scale=2:2", "-c:v", "libx264", *X264, c.path("tiny_2x2.mp4"))
    c.add("tiny_2x2.mp4", "a real 2x2-pixel video")
    ffmpeg("-i", src_tail_path, "-frames:v", "3", "-vf", "scale=8208:16", "-c:v", "libx264", *X264,
           c.path("wide_8208x16.mp4"))
    c.add("wide_8208x16.mp4", "a real 8208x16-pixel video (wider than any camera)")
    ffmpeg("-i", src_tail_path, "-c", "copy", "-f", "matroska", "-fflags", "+bitexact", c.path("mkv_named.mp4"))
    c.add("mkv_named.mp4", "a good Matroska file named .mp4 (should decode)")
    # Timestamps that jump: the second half of the frames 1e7 s (or an hour) after the first.
    for name, gap_s in (("time_gap_huge.mp4", "1e7"), ("time_gap_hour.mp4", "3600")):
        ffmpeg("-i", src_tail_path, "-vf", "setpts='if(gte(N,15),PTS+%s/TB,PTS)'" % gap_s, "-fps_mode", "passthrough",
               "-c:v", "libx264", *X264, "-video_track_timescale", "30", c.path(name))
        c.add(name, "frames 15 on are %s s later than frame 14" % gap_s)


def filesystem_cases(c, tail):
    os.mkdir(c.path("folder_named.mp4"))
    c.add("folder_named.mp4", "a folder named .mp4 (given explicitly)", in_folder=False)
    c.write("no_read_permission.mp4", tail, "a good clip without read permission (root can still read it)")
    os.chmod(c.path("no_read_permission.mp4"), 0)
    os.symlink("loop_b.mp4", c.path("loop_a.mp4"))
    os.symlink("loop_a.mp4", c.path("loop_b.mp4"))
    c.add("loop_a.mp4", "symlink loop a -> b -> a")
    c.add("loop_b.mp4", "symlink loop b -> a -> b")
    os.symlink("gone.mp4", c.path("dangling_link.mp4"))
    c.add("dangling_link.mp4", "symlink to a file that does not exist")
    c.write("empty.mp4", b"", "empty file")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src_dir", help="folder of real clips")
    ap.add_argument("out_dir", help="folder to create the corpus in (created; must be empty if it exists)")
    ap.add_argument("--source", default=DEFAULT_SOURCE, help="clip in src_dir to derive from (short!)")
    args = ap.parse_args()
    src = os.path.join(args.src_dir, args.source)
    if not os.path.isfile(src):
        sys.exit("make_corpus: no source clip %s" % src)
    os.makedirs(args.out_dir, exist_ok=True)
    if os.listdir(args.out_dir):
        sys.exit("make_corpus: %s is not empty" % args.out_dir)
    c = Corpus(args.out_dir)
    with tempfile.TemporaryDirectory(prefix="make_corpus-") as work:
        tail_path, fast_path = make_sources(src, work)
        with open(tail_path, "rb") as f:
            tail = f.read()
        with open(fast_path, "rb") as f:
            fast = f.read()
        if top_box(tail, b"moov")[0] < top_box(tail, b"mdat")[0] or top_box(fast, b"moov")[0] > top_box(fast, b"mdat")[0]:
            sys.exit("make_corpus: ffmpeg did not place the index as asked")
        truncations(c, tail, fast)
        header_damage(c, tail, fast)
        stream_damage(c, tail, fast)
        absurd_header(c, tail)
        not_video(c, work, tail_path, tail)
        odd_streams(c, tail_path)
        filesystem_cases(c, tail)
    c.manifest()
    print("make_corpus: %d cases in %s" % (len(c.rows), args.out_dir))


if __name__ == "__main__":
    main()
