// SPDX-License-Identifier: GPL-2.0

//! Writes the seed corpora: `gen_corpus DIR` creates `DIR/<target>/<seed>` for every seed of
//! `hv_proto_fuzz::seeds`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen_corpus DIR");
        std::process::exit(2);
    };
    let mut n = 0;
    for (target, name, bytes) in hv_proto_fuzz::seeds::all() {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), bytes)?;
        n += 1;
    }
    println!("gen_corpus: {n} seeds in {}", dir.display());
    Ok(())
}
