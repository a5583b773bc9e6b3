//! `cargo run --release --manifest-path bench/store_commit/Cargo.toml` (pin it: `taskset -c 0`).
//! A standalone crate, not part of line-oa or its tests: it only answers "what would a
//! log-structured local store buy" (bench/README.md, Ceilings).
//! Durable group-committed writes of ~1.2 KB log items keyed (conversation, sort key), 1000
//! conversations, producers handing items to one writer thread that commits a batch at a time
//! (fsync per commit), as the local server's webhook does. redb vs fjall, same harness.
use redb::ReadableTable;
use std::sync::mpsc;
use std::time::Instant;

const N: usize = 40_000;
const CONVS: usize = 1000;
const MAX_BATCH: usize = 64;

fn item(i: usize) -> Item {
    let conv = format!("user:U{:032x}", (i * 7919) % CONVS);
    let sk = format!("MSG#{:013}#in#{:026}", 1_748_826_930_412u64 + i as u64, i);
    let mut v = vec![b'x'; 1200];
    v[0] = (i % 251) as u8;
    (conv, sk, v)
}

type Item = (String, String, Vec<u8>);

/// A producer thread hands items to this thread, which commits whatever has queued (up to
/// MAX_BATCH) with `commit`, one durable commit at a time. Items per second.
fn run(mut commit: impl FnMut(&[Item])) -> f64 {
    let (tx, rx) = mpsc::sync_channel::<Item>(MAX_BATCH);
    let t0 = Instant::now();
    let producer = std::thread::spawn(move || {
        for i in 0..N {
            tx.send(item(i)).unwrap();
        }
    });
    let mut done = 0;
    while done < N {
        let mut batch = vec![rx.recv().unwrap()];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(x) => batch.push(x),
                Err(_) => break,
            }
        }
        commit(&batch);
        done += batch.len();
    }
    producer.join().unwrap();
    N as f64 / t0.elapsed().as_secs_f64()
}

fn run_redb(dir: &std::path::Path) -> f64 {
    const LOG: redb::TableDefinition<(&str, &str), &[u8]> = redb::TableDefinition::new("log");
    let db = redb::Database::create(dir.join("x.redb")).unwrap();
    run(|batch| {
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(LOG).unwrap();
            for (c, s, v) in batch {
                if t.get((c.as_str(), s.as_str())).unwrap().is_none() {
                    t.insert((c.as_str(), s.as_str()), v.as_slice()).unwrap();
                }
            }
        }
        txn.commit().unwrap();
    })
}

fn run_fjall(dir: &std::path::Path) -> f64 {
    let ks = fjall::Config::new(dir.join("fj")).open().unwrap();
    let log = ks.open_partition("log", fjall::PartitionCreateOptions::default()).unwrap();
    run(|batch| {
        let mut b = ks.batch();
        for (c, s, v) in batch {
            let key = format!("{c}\0{s}");
            if log.get(&key).unwrap().is_none() {
                b.insert(&log, key, v.as_slice());
            }
        }
        b.commit().unwrap();
        ks.persist(fjall::PersistMode::SyncData).unwrap();
    })
}

fn main() {
    for round in 0..2 {
        let d = tempfile_dir(round, "redb");
        let r = run_redb(&d);
        let d2 = tempfile_dir(round, "fjall");
        let f = run_fjall(&d2);
        println!("round {round}: redb {r:.0} items/s, fjall {f:.0} items/s, ratio {:.1}x", f / r);
        let _ = std::fs::remove_dir_all(d);
        let _ = std::fs::remove_dir_all(d2);
    }
}

fn tempfile_dir(round: usize, name: &str) -> std::path::PathBuf {
    let p = std::path::PathBuf::from(format!("/var/tmp/storexp-{name}-{round}-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}
