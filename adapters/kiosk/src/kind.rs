//! [`KioskKind`]: `kind = "kiosk"`, with `url` (KIOSK's SOAP endpoint) and `timeout`.

use std::sync::Arc;
use std::time::Duration;

use adapter_provider::{EndpointKind, Provider};

use crate::KioskProvider;

/// KIOSK as a provider kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct KioskKind;

impl EndpointKind for KioskKind {
    const NAME: &'static str = "kiosk";

    fn build_at(&self, url: &str, timeout: Duration) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(KioskProvider::new(url, timeout)?))
    }
}
