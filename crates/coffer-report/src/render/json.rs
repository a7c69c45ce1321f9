//! JSON: each report whole, pretty-printed, for machines.

use crate::access::AccessReport;
use crate::incident::IncidentReport;

impl AccessReport {
    /// The whole report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }
}

impl IncidentReport {
    /// The whole report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }
}
