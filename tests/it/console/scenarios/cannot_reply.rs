//! 6. LINE would refuse a message to a user who only followed (never wrote) or who blocked the
//!    account: the composer is disabled and says why, and nothing is sent. A group's message is
//!    answered by hand, and the reply reaches LINE addressed to the group.

use serde_json::json;

use crate::console::{group_id, ja, open_conversation, row, sign_in, user_id, ConsoleApp, OPERATOR_TOKEN};

/// The composer is disabled, with `reason` shown, and its send button too.
async fn composer_disabled(b: &crate::console::Browser, reason: &str) {
    b.wait_text("#composer-disabled-reason", reason).await;
    let state =
        b.js("return [document.getElementById('composer-text').disabled, document.getElementById('composer-send').disabled]", vec![]).await;
    assert_eq!(state, json!([true, true]), "the box and the send button are disabled");
}

pub async fn disabled_and_group() {
    let c = ConsoleApp::start().await;
    let follower = user_id(0x6001);
    let blocker = user_id(0x6002);
    let (group, member) = (group_id(0x6003), user_id(0x6004));
    c.app.standin.set_profile(&follower, "中村さくら");
    c.app.standin.set_profile(&blocker, "小林翔");
    c.user_follows(&follower).await;
    c.user_writes(&blocker, "予約をキャンセルします").await;
    c.user_blocks(&blocker).await;
    let token = c.group_message(&group, &member, "グループから失礼します。来週の予約は可能ですか？").await;
    let b = c.open("cannot-reply").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;

        open_conversation(&b, &format!("user:{follower}")).await;
        composer_disabled(&b, &ja("composer.blocked.never_wrote")).await;
        b.screenshot("never-wrote").await;

        open_conversation(&b, &format!("user:{blocker}")).await;
        b.wait_text("#messages", "予約をキャンセルします").await;
        composer_disabled(&b, &ja("composer.blocked.blocked")).await;
        b.screenshot("blocked").await;
        // A press on Enter in the disabled box does nothing either.
        let field = b.find("#composer-text").await;
        let _ = field.send_keys("送ってはいけない\u{e007}").await;

        // The group: a reply by hand, addressed to the group.
        let gid = format!("group:{group}");
        b.wait_text(&row(&gid), "グループから失礼します").await;
        open_conversation(&b, &gid).await;
        b.gone("#composer-disabled-reason").await;
        let answer = "はい、来週の火曜日でしたら空いております。";
        let field = b.find("#composer-text").await;
        b.type_keys(&field, answer, "the composer").await;
        b.press_enter(&field, "the composer").await;
        let sent = c.wait_sent(answer).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        match sent[0].method {
            "push" => assert_eq!(sent[0].to.as_deref(), Some(group.as_str()), "pushed to the group: {sent:?}"),
            _ => assert_eq!(sent[0].reply_token.as_deref(), Some(token.as_str()), "a reply to the group's message: {sent:?}"),
        }
        b.wait_text("#messages", answer).await;
        b.screenshot("group").await;

        // Nothing but that reply (and the automatic greeting on follow) went to LINE.
        let greeting = |s: &crate::console::Sent| s.texts.iter().all(|t| t.contains("友だち追加ありがとうございます"));
        let others: Vec<_> = c.sent().into_iter().filter(|s| !greeting(s)).collect();
        assert_eq!(others.len(), 1, "only the group reply was sent: {others:?}");
        assert!(c.sent_with("送ってはいけない").is_empty());
        c.app.standin.assert_all_valid();
    })
    .await;
}
