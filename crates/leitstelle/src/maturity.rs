//! The three-stage maturity model (step 1) and the versioned ranking weights (step 5).

use serde_json::{Value, json};

/// One stage and the technology readiness levels it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// 1, 2 or 3.
    pub stage: u8,
    /// Lowest TRL of the stage.
    pub trl_min: u8,
    /// Highest TRL of the stage.
    pub trl_max: u8,
    /// What the stage means locally.
    pub label: String,
}

/// The maturity model an agenda adapted: three stages covering TRL 1–9 without gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct MaturityModel {
    /// The three stages in order.
    pub bands: Vec<Band>,
}

impl Default for MaturityModel {
    /// Stage 1 = TRL 1–4, 2 = TRL 5–7, 3 = TRL 8–9, described as in the Digital-Gipfel paper.
    fn default() -> Self {
        let band = |stage, trl_min, trl_max, label: &str| Band {
            stage,
            trl_min,
            trl_max,
            label: label.to_owned(),
        };
        Self {
            bands: vec![
                band(
                    1,
                    1,
                    4,
                    "concept, first research result or simple prototype; substantial development before testing",
                ),
                band(
                    2,
                    5,
                    7,
                    "at least beta maturity, in a test phase; not yet in regular operation; integration work expected",
                ),
                band(
                    3,
                    8,
                    9,
                    "in operational or commercial use, or close to it in a core application; little integration work",
                ),
            ],
        }
    }
}

fn small(v: Option<&Value>, what: &str, lo: u8, hi: u8) -> Result<u8, String> {
    v.and_then(Value::as_u64)
        .filter(|n| (u64::from(lo)..=u64::from(hi)).contains(n))
        .map(|n| n as u8)
        .ok_or_else(|| format!("{what} must be an integer from {lo} to {hi}"))
}

impl MaturityModel {
    /// Reads and checks `{"stages": [{"stage": 1, "trlMin": 1, "trlMax": 4, "label": ".."}, ..]}`:
    /// exactly stages 1, 2, 3 in order, their TRL ranges contiguous from 1 to 9.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let stages = v
            .get("stages")
            .and_then(Value::as_array)
            .ok_or("maturityModel needs a 'stages' array")?;
        if stages.len() != 3 {
            return Err("maturityModel must have exactly three stages".into());
        }
        let mut bands = Vec::new();
        let mut next = 1u8;
        for (i, s) in stages.iter().enumerate() {
            let stage = small(s.get("stage"), "stage", 1, 3)?;
            if usize::from(stage) != i + 1 {
                return Err("the stages must be listed as 1, 2, 3".into());
            }
            let trl_min = small(s.get("trlMin"), "trlMin", 1, 9)?;
            let trl_max = small(s.get("trlMax"), "trlMax", 1, 9)?;
            if trl_min != next || trl_max < trl_min {
                return Err(format!(
                    "stage {stage} must start at TRL {next} and not end before it starts"
                ));
            }
            next = trl_max + 1;
            bands.push(Band {
                stage,
                trl_min,
                trl_max,
                label: s
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        if next != 10 {
            return Err("the stages must cover TRL 1 to 9".into());
        }
        Ok(Self { bands })
    }

    /// The JSON form [`Self::from_json`] reads.
    pub fn to_json(&self) -> Value {
        json!({"stages": self.bands.iter().map(|b| json!({
            "stage": b.stage, "trlMin": b.trl_min, "trlMax": b.trl_max, "label": b.label
        })).collect::<Vec<_>>()})
    }

    /// The stage a TRL falls in.
    pub fn stage_for_trl(&self, trl: u8) -> Option<u8> {
        self.bands
            .iter()
            .find(|b| (b.trl_min..=b.trl_max).contains(&trl))
            .map(|b| b.stage)
    }
}

/// The weights of the priority ranking, versioned with the agenda.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Version (0 = the built-in defaults).
    pub version: u64,
    /// Contribution to the agenda's targets.
    pub target_contribution: f64,
    /// Expert synergy between the project's domains.
    pub synergy: f64,
    /// Stage / feasibility.
    pub feasibility: f64,
    /// Secured share of the cost.
    pub funding: f64,
    /// Citizen support (votes).
    pub citizen_support: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            version: 0,
            target_contribution: 0.3,
            synergy: 0.25,
            feasibility: 0.15,
            funding: 0.15,
            citizen_support: 0.15,
        }
    }
}

/// The names of the weighted criteria, as in the JSON forms.
pub const CRITERIA: [&str; 5] = [
    "targetContribution",
    "synergy",
    "feasibility",
    "funding",
    "citizenSupport",
];

impl Weights {
    /// Reads and checks `{"version": 2, "targetContribution": 0.3, ...}`: a version ≥ 1 and
    /// all five weights, non-negative, not all zero.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let version = v
            .get("version")
            .and_then(Value::as_u64)
            .filter(|n| *n >= 1)
            .ok_or("rankingWeights needs a 'version', an integer from 1")?;
        let mut w = [0.0; 5];
        for (slot, name) in w.iter_mut().zip(CRITERIA) {
            *slot = v
                .get(name)
                .and_then(Value::as_f64)
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("rankingWeights needs '{name}', a number ≥ 0"))?;
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err("rankingWeights must not all be zero".into());
        }
        Ok(Self {
            version,
            target_contribution: w[0],
            synergy: w[1],
            feasibility: w[2],
            funding: w[3],
            citizen_support: w[4],
        })
    }

    /// The weights in criterion order.
    pub fn as_array(&self) -> [f64; 5] {
        [
            self.target_contribution,
            self.synergy,
            self.feasibility,
            self.funding,
            self.citizen_support,
        ]
    }

    /// The JSON form [`Self::from_json`] reads.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("version".into(), self.version.into());
        for (name, w) in CRITERIA.iter().zip(self.as_array()) {
            m.insert((*name).into(), w.into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mapping_follows_the_paper() {
        let m = MaturityModel::default();
        let stages: Vec<Option<u8>> = (1..=9).map(|t| m.stage_for_trl(t)).collect();
        assert_eq!(stages, [1, 1, 1, 1, 2, 2, 2, 3, 3].map(Some).to_vec());
        assert_eq!(MaturityModel::from_json(&m.to_json()), Ok(m));
    }

    #[test]
    fn adapted_mapping_must_cover_trl_1_to_9() {
        let ok = json!({"stages": [
            {"stage": 1, "trlMin": 1, "trlMax": 3},
            {"stage": 2, "trlMin": 4, "trlMax": 6},
            {"stage": 3, "trlMin": 7, "trlMax": 9}]});
        assert_eq!(
            MaturityModel::from_json(&ok).unwrap().stage_for_trl(7),
            Some(3)
        );
        let gap = json!({"stages": [
            {"stage": 1, "trlMin": 1, "trlMax": 3},
            {"stage": 2, "trlMin": 5, "trlMax": 6},
            {"stage": 3, "trlMin": 7, "trlMax": 9}]});
        assert_eq!(
            MaturityModel::from_json(&gap),
            Err("stage 2 must start at TRL 4 and not end before it starts".into())
        );
        let short = json!({"stages": [
            {"stage": 1, "trlMin": 1, "trlMax": 3},
            {"stage": 2, "trlMin": 4, "trlMax": 6},
            {"stage": 3, "trlMin": 7, "trlMax": 8}]});
        assert_eq!(
            MaturityModel::from_json(&short),
            Err("the stages must cover TRL 1 to 9".into())
        );
    }

    #[test]
    fn weights_need_a_version_and_all_criteria() {
        let w = json!({"version": 2, "targetContribution": 1, "synergy": 1,
                       "feasibility": 0, "funding": 0, "citizenSupport": 2});
        assert_eq!(Weights::from_json(&w).unwrap().citizen_support, 2.0);
        assert!(Weights::from_json(&json!({"targetContribution": 1})).is_err());
        let neg = json!({"version": 1, "targetContribution": -1, "synergy": 1,
                         "feasibility": 0, "funding": 0, "citizenSupport": 2});
        assert_eq!(
            Weights::from_json(&neg),
            Err("rankingWeights needs 'targetContribution', a number ≥ 0".into())
        );
    }
}
