//! [`UldkKind`]: `kind = "uldk"`, with `url` (ULDK's base URL) and `timeout`.

use std::sync::Arc;
use std::time::Duration;

use adapter_provider::{EndpointKind, Provider};

use crate::UldkProvider;

/// ULDK as a provider kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct UldkKind;

impl EndpointKind for UldkKind {
    const NAME: &'static str = "uldk";

    fn build_at(&self, url: &str, timeout: Duration) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(UldkProvider::new(url, timeout)?))
    }
}
