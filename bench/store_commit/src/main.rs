//! `cargo run --release --manifest-path bench/store_commit/Cargo.toml` (pin it: `taskset -c 0`).
//! A standalone crate, not part of line-oa or its tests: it only answers "what would a
//! log-structured local store buy" (bench/README.md, Ceilings).
//! Durable group-committed writes of ~1.2 KB log items keyed (conversation, sort key), 1000
//! conversations, producers handing items to one writer thread that commits a batch at a time
//! (fsync per commit), as the local server's webhook does. redb, fjall, SQLite (WAL,
//! synchronous=FULL) and a bare append + fdatasync (the floor), same harness.
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
    let mut commits = 0;
    while done < N {
        commits += 1;
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
    eprintln!("  {:.1} items per commit", N as f64 / commits as f64);
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

/// fjall's single-writer transactions (reads see the transaction's own writes), as a store
/// adapter with read-modify-write operations would use them.
fn run_fjall_tx(dir: &std::path::Path) -> f64 {
    let ks = fjall::Config::new(dir.join("fjtx")).open_transactional().unwrap();
    let log = ks.open_partition("log", fjall::PartitionCreateOptions::default()).unwrap();
    run(|batch| {
        let mut tx = ks.write_tx();
        for (c, s, v) in batch {
            let key = format!("{c}\0{s}");
            if tx.get(&log, &key).unwrap().is_none() {
                tx.insert(&log, key, v.as_slice());
            }
        }
        tx.commit().unwrap();
        ks.persist(fjall::PersistMode::SyncData).unwrap();
    })
}

/// SQLite as the issue describes it: WAL, synchronous=FULL (the WAL is fsynced at every
/// commit), one transaction per batch, `INSERT OR IGNORE` on the primary key as the
/// idempotency check (`changes()` tells a new item from a duplicate).
fn run_sqlite(dir: &std::path::Path) -> f64 {
    sqlite_variant(dir, "CREATE TABLE log (conversation TEXT NOT NULL, sort_key TEXT NOT NULL, item BLOB NOT NULL, PRIMARY KEY (conversation, sort_key)) WITHOUT ROWID", "FULL")
}
fn run_sqlite_rowid(dir: &std::path::Path) -> f64 {
    sqlite_variant(dir, "CREATE TABLE log (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, sort_key TEXT NOT NULL, item BLOB NOT NULL); CREATE UNIQUE INDEX log_key ON log (conversation, sort_key)", "FULL")
}
fn run_sqlite_normal(dir: &std::path::Path) -> f64 {
    sqlite_variant(dir, "CREATE TABLE log (conversation TEXT NOT NULL, sort_key TEXT NOT NULL, item BLOB NOT NULL, PRIMARY KEY (conversation, sort_key)) WITHOUT ROWID", "OFF")
}
fn sqlite_variant(dir: &std::path::Path, schema: &str, sync: &str) -> f64 {
    let db = rusqlite::Connection::open(dir.join("x.sqlite3")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", sync).unwrap();
    db.execute_batch(schema).unwrap();
    let mut db = db;
    run(|batch| {
        let txn = db.transaction().unwrap();
        {
            let mut insert = txn.prepare_cached("INSERT OR IGNORE INTO log (conversation, sort_key, item) VALUES (?1, ?2, ?3)").unwrap();
            for (c, s, v) in batch {
                let new = insert.execute((c, s, v)).unwrap();
                assert_eq!(new, 1);
            }
        }
        txn.commit().unwrap();
    })
}

/// The floor: each batch appended to one file and fdatasynced, nothing indexed.
fn run_append(dir: &std::path::Path) -> f64 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("journal")).unwrap();
    let mut buf = Vec::new();
    run(|batch| {
        buf.clear();
        for (c, s, v) in batch {
            for part in [c.as_bytes(), s.as_bytes(), v.as_slice()] {
                buf.extend_from_slice(&(part.len() as u32).to_le_bytes());
                buf.extend_from_slice(part);
            }
        }
        f.write_all(&buf).unwrap();
        f.sync_data().unwrap();
    })
}

fn main() {
    for round in 0..3 {
        let mut line = format!("round {round}:");
        let mut redb = 0.0;
        for (name, run) in [("redb", run_redb as fn(&std::path::Path) -> f64), ("fjall", run_fjall), ("fjall-tx", run_fjall_tx), ("sqlite", run_sqlite), ("sqlite-rowid", run_sqlite_rowid), ("sqlite-nosync", run_sqlite_normal), ("append+fdatasync", run_append)] {
            let d = tempfile_dir(round, name);
            let rate = run(&d);
            if name == "redb" {
                redb = rate;
            }
            line += &format!(" {name} {rate:.0} items/s ({:.1}x redb);", rate / redb);
            let _ = std::fs::remove_dir_all(d);
        }
        println!("{line}");
    }
}

fn tempfile_dir(round: usize, name: &str) -> std::path::PathBuf {
    let p = std::path::PathBuf::from(format!("/var/tmp/storexp-{name}-{round}-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}
