#!/usr/bin/env python3
"""Puts zlib's source into third_party/zlib for WSFAST_ZLIB=bundled builds.

What is pinned is zlib 1.3.1 itself: the SHA-256 of each file setup.py
compiles or includes, plus README (zlib's licence), all equal to the
upstream release's. They come from a package registry:

  default         the npm package zlib-sync@0.1.10, whose deps/zlib/ is the
                  unmodified 1.3.1 tree, fetched with `npm pack` and checked
                  against its pinned SHA-256 before anything is read from it
  --archive FILE  any tarball holding the same files, e.g. Debian's
                  zlib_1.3.dfsg+really1.3.1.orig.tar.gz from `apt-get source
                  --download-only zlib=1:1.3.dfsg+really1.3.1-1`

Nothing else is unpacked. Without --archive, if third_party/zlib already
holds exactly these files, nothing is fetched: cibuildwheel re-runs this in
the Linux containers (no npm there) after CI ran it on the host.
Python 3.8+, standard library only.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEST = os.path.join(ROOT, "third_party", "zlib")

VERSION = "1.3.1"
NPM_SPEC = "zlib-sync@0.1.10"
NPM_TARBALL = "zlib-sync-0.1.10.tgz"
NPM_SHA256 = "bd2180fc18426cf464ecab1321bb31a1af81c36b927a28cdb26c3a56f302f2b6"
NPM_PREFIX = "package/deps/zlib/"

FILES = {
    "README": "d106dcdb2a0b3087cb3a2380b9f00a0bbadc7eb835cd80408f94a2d78d69727d",
    "adler32.c": "9cd1443a24ff2a3053961695bd432035c58347386a420d3388232376ebabe211",
    "compress.c": "86f802c16a965e7a28737e3730b4e576c5ba40981753967e3e30916f4dc1b4b1",
    "crc32.c": "8fd16f0a7714d51c89c2eb37eb98ec15e8a4dc57ba343e7b7398b19144039fda",
    "crc32.h": "9a2223575183ac2ee8a247f20bf3ac066e8bd0140369556bdbdffc777435749e",
    "deflate.c": "3b956337350f94c34987750f785587ef33d9c89ceaebb7c2afb189c956360cbe",
    "deflate.h": "48baf016326d8d5e3e32ac8153cc7e22f854b8e6834830b167b998a7fb1e7989",
    "gzguts.h": "716fa648aca1bb06c219d7b97ad4846d8479206143bc39557bfd8283f5783e04",
    "infback.c": "62df9a6dd3eef126f1d81d0ad7a534504610dec44482b0a472b61c93cbab6554",
    "inffast.c": "e6ef64ce5dc0a4cd5c7ad08ceeb2b2a698b8447f6bd156057caeb2edab68c0cb",
    "inffast.h": "05cc5dc9ff1da7b8b52a4bd8bda0d8a5c236a2f39efe84b941516ea13857e6c5",
    "inffixed.h": "237ba710f090e432b62ebf963bee8b302867e9691406b2d3f8ee89ee7bfef9b0",
    "inflate.c": "34c998ce0037c0537c04b03b276f680b945f9b2c9d1e01b287605bd6879f7fd2",
    "inflate.h": "e8d4a51b07694bf48cb91979c19974cf6a5ab0b8a09d26ec0d14df349230673e",
    "inftrees.c": "5d4f335221d2dc76f17abd2577d92c2d7baf68fa6d7f23373b360830493d1563",
    "inftrees.h": "0a0fcaf2ae2fae57426bdc06637270e9bba974f35202cadbdba479d946e6409d",
    "trees.c": "f63c68c16c05fcd196050529d1a0e7657960e4136b9987d90a6ac3e58a964b0f",
    "trees.h": "bb0a9d3ca88ee00c81adb7c636e73b97085f6ef1b52d6d58edbe2b6dc3adeb4d",
    "uncompr.c": "04dca5e31b3b8a17d1806426f66f0c539f4184d657e149d40be07070c6227b52",
    "zconf.h": "f5134250a67d57459234b63858f0d9d3ef8dcc48e9e1028d3f4fdcf6eae677ae",
    "zlib.h": "8a5579af72ea4f427ff00a4150f0ccb3fc5c1e4379f726e101133b1ab9fc600c",
    "zutil.c": "8ced40d8c88588811edd2bdb35b7439983d5e1f8e9e32b8a3b244731f3c317b7",
    "zutil.h": "dddb2dc7a1dc339ecf2c8e089b366f08bb731c0839c7110240d17ce731bb4fea",
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def dest_is_complete():
    for name, digest in FILES.items():
        try:
            with open(os.path.join(DEST, name), "rb") as f:
                if sha256(f.read()) != digest:
                    return False
        except OSError:
            return False
    return True


def npm_pack(tmp):
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("fetch_zlib: npm not found. Run this script where npm is (CI runs it on "
                 "the host before cibuildwheel), or pass --archive (see --help).")
    subprocess.run([npm, "pack", NPM_SPEC, "--ignore-scripts", "--silent",
                    "--pack-destination", tmp], check=True, stdout=subprocess.DEVNULL)
    path = os.path.join(tmp, NPM_TARBALL)
    with open(path, "rb") as f:
        got = sha256(f.read())
    if got != NPM_SHA256:
        sys.exit("fetch_zlib: %s has SHA-256 %s, expected %s" % (NPM_TARBALL, got, NPM_SHA256))
    return path, NPM_PREFIX


def archive_prefix(tar):
    """The folder of the shallowest zlib.h in the archive."""
    heads = [m.name[:-len("zlib.h")] for m in tar.getmembers()
             if m.isfile() and (m.name == "zlib.h" or m.name.endswith("/zlib.h"))]
    if not heads:
        sys.exit("fetch_zlib: no zlib.h in the archive")
    return min(heads, key=lambda p: p.count("/"))


def read_files(path, prefix):
    """Reads FILES from the tarball, each checked against its pinned SHA-256."""
    out = {}
    with tarfile.open(path) as tar:
        if prefix is None:
            prefix = archive_prefix(tar)
        for name, digest in FILES.items():
            try:
                member = tar.getmember(prefix + name)
            except KeyError:
                member = None
            if member is None or not member.isfile():
                sys.exit("fetch_zlib: no file %s%s in %s" % (prefix, name, path))
            data = tar.extractfile(member).read()
            if sha256(data) != digest:
                sys.exit("fetch_zlib: %s is not zlib %s's (SHA-256 %s, expected %s)"
                         % (name, VERSION, sha256(data), digest))
            out[name] = data
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", metavar="FILE",
                    help="take the files from this tarball instead of npm")
    args = ap.parse_args()
    rel = os.path.relpath(DEST, ROOT)

    if not args.archive and dest_is_complete():
        print("fetch_zlib: %s holds zlib %s, all files verified" % (rel, VERSION))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.archive:
            path, prefix = os.path.abspath(args.archive), None
        else:
            path, prefix = npm_pack(tmp)
        files = read_files(path, prefix)
    # A half-written folder fails dest_is_complete() and is redone next time.
    shutil.rmtree(DEST, ignore_errors=True)
    os.makedirs(DEST)
    for name, data in files.items():
        with open(os.path.join(DEST, name), "wb") as f:
            f.write(data)
    print("fetch_zlib: zlib %s (%d files, SHA-256 verified) from %s into %s"
          % (VERSION, len(files), os.path.basename(path), rel))


if __name__ == "__main__":
    main()
