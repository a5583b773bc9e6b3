//! The classifier's features: hashed character 1–3-grams and English words after NFKC and
//! width folding, and the keyword groups that tie spellings n-grams see as unrelated.

use unicode_normalization::UnicodeNormalization;

/// Weight-table rows: a power of two; 5-fold CV showed no gain from 2^16 or 2^17.
pub(super) const BUCKETS: usize = 1 << 15;
/// A keyword-group hit counts as this many n-grams: it is shared by every spelling of a cue.
const KEYWORD_WEIGHT: f32 = 3.0;

/// Hand-picked cues, one group per line, tying spellings that n-grams see as unrelated
/// (電話/tel/call). Japanese cues are 1–3 characters, matched as n-grams; English ones as words.
const KEYWORD_GROUPS: [&str; 9] = [
    "電話 でんわ デンワ 番号 通話 tel phone call ring number",
    "住所 場所 駅 駐車 駐輪 アクセ どこ 行き方 地図 最寄 address where station parking park map \
     location located exit directions",
    "営業 何時 定休 休み 開いて 閉店 開店 オープ open close closed hours time",
    "hp url サイト ページ インス sns リンク ホーム website site link instagram insta ig online \
     page web homepage",
    "ありが 助か 感謝 thank thanks thx ty appreciate appreciated",
    "どうや 方法 やり方 仕方 どうす どうし how",
    "こんに はじめ 初めま おはよ こんば hello hi hey morning",
    "いくら 料金 ありま できま 空いて 空き price much cost available stock",
    "返金 最悪 ひど 待たさ refund rude worst terrible disappointed unacceptable",
];

fn fnv(h: u64, c: char) -> u64 {
    (h ^ u64::from(u32::from(c))).wrapping_mul(0x0000_0100_0000_01b3)
}

/// Start of an FNV chain; `kind` keeps the unigram "a", the word "a" and so on apart.
fn seed(kind: char) -> u64 {
    fnv(0xcbf2_9ce4_8422_2325, kind)
}

fn bucket(h: u64) -> usize {
    ((h ^ (h >> 29)) as usize) & (BUCKETS - 1)
}

/// Sorted (hash, group bits) of every cue. Full 64-bit hashes are compared, so unrelated n-grams
/// that share a weight bucket with a cue never fire its group. A 4096-bit filter answers most
/// lookups (~96% of n-grams are no cue) without the binary search.
pub(super) struct Keywords {
    filter: [u64; 64],
    cues: Vec<(u64, u32)>,
}

impl Keywords {
    pub(super) fn new() -> Keywords {
        let mut cues = std::collections::BTreeMap::new();
        for (group, line) in KEYWORD_GROUPS.iter().enumerate() {
            for cue in line.split_whitespace() {
                let h = match cue.chars().collect::<Vec<_>>()[..] {
                    _ if cue.bytes().all(|b| b.is_ascii_alphanumeric()) => cue.chars().fold(seed('w'), fnv),
                    [a] => fnv(seed('1'), a),
                    [a, b] => fnv(fnv(seed('2'), a), b),
                    [a, b, c] => fnv(fnv(fnv(seed('3'), a), b), c),
                    _ => unreachable!("keyword {cue:?} is longer than a trigram"),
                };
                *cues.entry(h).or_insert(0) |= 1 << group;
            }
        }
        let mut filter = [0u64; 64];
        cues.keys().for_each(|h| filter[(h >> 6 & 63) as usize] |= 1 << (h & 63));
        Keywords { filter, cues: cues.into_iter().collect() }
    }

    fn get(&self, h: u64) -> u32 {
        if self.filter[(h >> 6 & 63) as usize] & 1 << (h & 63) == 0 {
            return 0;
        }
        let found = self.cues.binary_search_by_key(&h, |e| e.0);
        found.map_or(0, |i| self.cues[i].1)
    }
}

/// Characters that NFKC leaves alone and that never compose with a neighbour: ASCII, CJK
/// punctuation, kana and ideographs (checked against Unicode's tables). Only ASCII has case.
fn nfkc_inert(c: char) -> bool {
    matches!(u32::from(c), 0..=0x7F | 0x3001..=0x3029 | 0x3030..=0x3035 | 0x3041..=0x3096
        | 0x30A1..=0x30FC | 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// NFKC + lower-case, char by char. Once full-width ASCII and U+3000 are folded (as NFKC would),
/// most messages are all inert characters and skip the full normaliser, which otherwise
/// costs more than the rest of `classify` together.
pub(crate) fn normalised_chars(text: &str, mut f: impl FnMut(char)) {
    let fold = |c: char| match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    if text.chars().map(fold).all(nfkc_inert) {
        text.chars().map(fold).for_each(|c| f(c.to_ascii_lowercase()));
    } else {
        text.nfkc().flat_map(char::to_lowercase).for_each(f);
    }
}

/// Calls `f(bucket, value)` for each feature: char 1–3-grams, English words and word bigrams,
/// keyword groups. Digits become `0` so "10時" and "9時" share n-grams; whitespace runs become
/// one space, which also pads both ends so edge n-grams differ from inner ones.
pub(super) fn for_each_feature(text: &str, keywords: &Keywords, mut f: impl FnMut(usize, f32)) {
    let (mut p2, mut p1) = ('\u{2}', ' ');
    let (mut word, mut prev_word, mut in_word) = (0u64, seed('^'), false);
    let mut groups = 0u32;
    let mut step = |c: char| {
        let c = match c {
            _ if c.is_ascii_digit() => '0',
            _ if c.is_whitespace() => ' ',
            _ => c,
        };
        if c == ' ' && p1 == ' ' {
            return;
        }
        let (uni, bi) = (fnv(seed('1'), c), fnv(fnv(seed('2'), p1), c));
        let tri = fnv(fnv(fnv(seed('3'), p2), p1), c);
        if c != ' ' {
            f(bucket(uni), 1.0);
        }
        f(bucket(bi), 1.0);
        f(bucket(tri), 1.0);
        groups |= keywords.get(uni) | keywords.get(bi) | keywords.get(tri);
        if c.is_ascii_alphanumeric() || c == '\'' {
            word = fnv(if in_word { word } else { seed('w') }, c);
            in_word = true;
        } else if in_word {
            f(bucket(word), 1.0);
            f(bucket(fnv(prev_word.rotate_left(17) ^ word, 'b')), 1.0);
            groups |= keywords.get(word);
            (prev_word, in_word) = (word, false);
        }
        (p2, p1) = (p1, c);
    };
    normalised_chars(text, &mut step);
    step(' ');
    for g in (0..KEYWORD_GROUPS.len() as u8).filter(|g| groups & 1 << g != 0) {
        f(bucket(fnv(seed('k'), char::from(g))), KEYWORD_WEIGHT);
    }
}
