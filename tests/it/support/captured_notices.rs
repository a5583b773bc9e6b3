//! A notifier that keeps the staff notices it is given, for a test to take and read.

use std::sync::Mutex;

use async_trait::async_trait;
use line_oa::domain::notice::StaffNotice;
use line_oa::notify::{Notifier, NotifyError};

#[derive(Default)]
pub struct Captured(Mutex<Vec<StaffNotice>>);

#[async_trait]
impl Notifier for Captured {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

impl Captured {
    /// The notices given since the last take.
    pub fn taken(&self) -> Vec<StaffNotice> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}
