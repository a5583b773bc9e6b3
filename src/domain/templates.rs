//! AI-style reply templates: one per category and language, editable in the settings, with
//! good defaults. Placeholders are filled from the settings and the schedule.

use std::collections::HashMap;

use super::classifier::{Category, Lang};

/// The categories the AI-style replies know, with `long_message` decided by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplyCategory {
    Classified(Category),
    LongMessage,
}

impl ReplyCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classified(c) => c.as_str(),
            Self::LongMessage => "long_message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "long_message" {
            return Some(Self::LongMessage);
        }
        s.parse().ok().map(Self::Classified)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub ja: String,
    pub en: String,
}

impl Template {
    pub fn for_lang(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

fn default_template(category: ReplyCategory) -> (&'static str, &'static str) {
    use Category::*;
    match category {
        ReplyCategory::LongMessage => (
            "詳しくご連絡いただきありがとうございます。担当者が内容を確認し、改めてご連絡いたします。",
            "Thank you for the details. A member of our staff will read your message and get back to you.",
        ),
        ReplyCategory::Classified(c) => match c {
            Greeting => {
                ("こんにちは！{account_name}です。ご用件をお気軽にお送りください。", "Hello! This is {account_name}. How can we help you?")
            }
            HowTo => (
                "ご質問ありがとうございます。手順については担当者よりご案内いたします。",
                "Thanks for your question. Our staff will explain the steps shortly.",
            ),
            Thanks => ("ありがとうございます！またいつでもご連絡ください。", "You're welcome! Feel free to message us any time."),
            CannotAnswer => (
                "申し訳ありません、こちらではお答えできない内容です。担当者より改めてご連絡いたします。",
                "Sorry, we can't answer that automatically. A member of our staff will get back to you.",
            ),
            Complaint => (
                "ご不便をおかけして申し訳ございません。担当者が確認し、改めてご連絡いたします。",
                "We're very sorry for the trouble. A member of our staff will look into it and contact you.",
            ),
            Inquiry => (
                "お問い合わせありがとうございます。担当者より順次お返事いたします。",
                "Thank you for your inquiry. Our staff will reply as soon as possible.",
            ),
            Hours => ("次の営業開始は{next_open}です。", "We next open {next_open}."),
            Address => ("所在地は{address}です。", "We are at {address}."),
            Phone => ("お電話番号は{phone}です。", "Our phone number is {phone}."),
            Website => ("ウェブサイトはこちらです: {website}", "Our website: {website}"),
        },
    }
}

/// Every category's template: the settings' where given, else the built-in default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates(HashMap<ReplyCategory, Template>);

impl Templates {
    pub fn with_overrides(overrides: HashMap<ReplyCategory, Template>) -> Self {
        let all = Category::ALL.iter().map(|c| ReplyCategory::Classified(*c)).chain([ReplyCategory::LongMessage]);
        let mut map: HashMap<_, _> = all
            .map(|c| {
                let (ja, en) = default_template(c);
                (c, Template { ja: ja.to_owned(), en: en.to_owned() })
            })
            .collect();
        map.extend(overrides);
        Self(map)
    }

    pub fn get(&self, category: ReplyCategory) -> &Template {
        // `with_overrides` fills every category, so this lookup always succeeds.
        &self.0[&category]
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::with_overrides(HashMap::new())
    }
}

/// Replaces `{name}` placeholders; returns None if one it needs has no value (so the caller
/// can answer otherwise rather than send a broken sentence).
pub fn fill(template: &str, values: &[(&str, Option<&str>)]) -> Option<String> {
    let mut out = template.to_owned();
    for (name, value) in values {
        let placeholder = format!("{{{name}}}");
        if out.contains(&placeholder) {
            out = out.replace(&placeholder, (*value)?);
        }
    }
    Some(out)
}
