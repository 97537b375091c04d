//! The Leitstelle vocabulary: entity types and attribute names, as expanded IRIs.
//!
//! Governance terms live under [`NS`]; Smart Data Models terms are reused where they fit
//! (`KeyPerformanceIndicator`, `Organization`, `Device`, `name`, `controlledProperty`), and
//! the NGSI-LD core terms `description`, `status` and `location` keep their core IRIs. The
//! shipped context (`context/leitstelle.jsonld`) maps the short names to these IRIs.

/// The Quartier Leitstelle namespace.
pub const NS: &str = "https://w3id.org/quartier/leitstelle#";
/// The Smart Data Models namespace.
pub const SDM: &str = "https://smartdatamodels.org/";

/// The JSON-LD context document shipped with Quartier.
pub const CONTEXT: &str = include_str!("../context/leitstelle.jsonld");

/// The path under which the context is served.
pub const CONTEXT_PATH: &str = "/leitstelle/v1/context.jsonld";

/// Entity types (expanded).
pub mod ty {
    /// `Agenda`.
    pub const AGENDA: &str = "https://w3id.org/quartier/leitstelle#Agenda";
    /// `Domain`.
    pub const DOMAIN: &str = "https://w3id.org/quartier/leitstelle#Domain";
    /// `Goal`.
    pub const GOAL: &str = "https://w3id.org/quartier/leitstelle#Goal";
    /// `Target`.
    pub const TARGET: &str = "https://w3id.org/quartier/leitstelle#Target";
    /// `KeyPerformanceIndicator`.
    pub const KEY_PERFORMANCE_INDICATOR: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/KeyPerformanceIndicator";
    /// `Milestone`.
    pub const MILESTONE: &str = "https://w3id.org/quartier/leitstelle#Milestone";
    /// `Project`.
    pub const PROJECT: &str = "https://w3id.org/quartier/leitstelle#Project";
    /// `MaturityAssessment`.
    pub const MATURITY_ASSESSMENT: &str = "https://w3id.org/quartier/leitstelle#MaturityAssessment";
    /// `SynergyAssessment`.
    pub const SYNERGY_ASSESSMENT: &str = "https://w3id.org/quartier/leitstelle#SynergyAssessment";
    /// `Organization`.
    pub const ORGANIZATION: &str =
        "https://smartdatamodels.org/dataModel.Organization/Organization";
    /// `Solution`.
    pub const SOLUTION: &str = "https://w3id.org/quartier/leitstelle#Solution";
    /// `LessonLearned`.
    pub const LESSON_LEARNED: &str = "https://w3id.org/quartier/leitstelle#LessonLearned";
    /// `FundingProgramme`.
    pub const FUNDING_PROGRAMME: &str = "https://w3id.org/quartier/leitstelle#FundingProgramme";
    /// `Grant`.
    pub const GRANT: &str = "https://w3id.org/quartier/leitstelle#Grant";
    /// `CitizenIdea`.
    pub const CITIZEN_IDEA: &str = "https://w3id.org/quartier/leitstelle#CitizenIdea";
    /// `ProgressReport` (a stored, versioned Fortschrittsbericht).
    pub const PROGRESS_REPORT: &str = "https://w3id.org/quartier/leitstelle#ProgressReport";
    /// `Device`.
    pub const DEVICE: &str = "https://smartdatamodels.org/dataModel.Device/Device";
    /// `Device` as written with the core context alone (no `Link`): devices registered by
    /// integrators and the demo region count as the same devices.
    pub const DEVICE_CORE: &str = "https://uri.etsi.org/ngsi-ld/default-context/Device";
}

/// Attribute names (expanded).
pub mod attr {
    /// `name`.
    pub const NAME: &str = "https://smartdatamodels.org/name";
    /// `legalName`.
    pub const LEGAL_NAME: &str = "https://smartdatamodels.org/dataModel.Organization/legalName";
    /// `controlledProperty`.
    pub const CONTROLLED_PROPERTY: &str =
        "https://smartdatamodels.org/dataModel.Device/controlledProperty";
    /// `controlledProperty` as written with the core context alone.
    pub const CONTROLLED_PROPERTY_CORE: &str =
        "https://uri.etsi.org/ngsi-ld/default-context/controlledProperty";
    /// `kpiValue`.
    pub const KPI_VALUE: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/kpiValue";
    /// `calculationMethod` (`manual` or `automatic`).
    pub const CALCULATION_METHOD: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/calculationMethod";
    /// `calculationFrequency` (an ISO 8601 duration).
    pub const CALCULATION_FREQUENCY: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/calculationFrequency";
    /// `calculationPeriod` (`{"from", "to"}`).
    pub const CALCULATION_PERIOD: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/calculationPeriod";
    /// `dateNextCalculation`.
    pub const DATE_NEXT_CALCULATION: &str =
        "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/dateNextCalculation";
    /// `dataCoverage` (0–1).
    pub const DATA_COVERAGE: &str = "https://w3id.org/quartier/leitstelle#dataCoverage";
    /// `indicatorStatus`.
    pub const INDICATOR_STATUS: &str = "https://w3id.org/quartier/leitstelle#indicatorStatus";
    /// `computationError`.
    pub const COMPUTATION_ERROR: &str = "https://w3id.org/quartier/leitstelle#computationError";
    /// `reportVersion`.
    pub const REPORT_VERSION: &str = "https://w3id.org/quartier/leitstelle#reportVersion";
    /// `reportSnapshot` (the facts a progress report shows).
    pub const REPORT_SNAPSHOT: &str = "https://w3id.org/quartier/leitstelle#reportSnapshot";
    /// `publishedAt` (when a ProgressReport was published as open data).
    pub const PUBLISHED_AT: &str = "https://w3id.org/quartier/leitstelle#publishedAt";
    /// `license` (the licence of a published ProgressReport: an IRI of the DCAT-AP.de list).
    pub const LICENSE: &str = "https://w3id.org/quartier/leitstelle#license";
    /// `code`.
    pub const CODE: &str = "https://w3id.org/quartier/leitstelle#code";
    /// `regional`.
    pub const REGIONAL: &str = "https://w3id.org/quartier/leitstelle#regional";
    /// `centralDomains`.
    pub const CENTRAL_DOMAINS: &str = "https://w3id.org/quartier/leitstelle#centralDomains";
    /// `maturityModel`.
    pub const MATURITY_MODEL: &str = "https://w3id.org/quartier/leitstelle#maturityModel";
    /// `rankingWeights`.
    pub const RANKING_WEIGHTS: &str = "https://w3id.org/quartier/leitstelle#rankingWeights";
    /// `startDate`.
    pub const START_DATE: &str = "https://w3id.org/quartier/leitstelle#startDate";
    /// `endDate`.
    pub const END_DATE: &str = "https://w3id.org/quartier/leitstelle#endDate";
    /// `agenda`.
    pub const AGENDA: &str = "https://w3id.org/quartier/leitstelle#agenda";
    /// `domain`.
    pub const DOMAIN: &str = "https://w3id.org/quartier/leitstelle#domain";
    /// `domains`.
    pub const DOMAINS: &str = "https://w3id.org/quartier/leitstelle#domains";
    /// `goal`.
    pub const GOAL: &str = "https://w3id.org/quartier/leitstelle#goal";
    /// `contributesTo`.
    pub const CONTRIBUTES_TO: &str = "https://w3id.org/quartier/leitstelle#contributesTo";
    /// `project`.
    pub const PROJECT: &str = "https://w3id.org/quartier/leitstelle#project";
    /// `programme`.
    pub const PROGRAMME: &str = "https://w3id.org/quartier/leitstelle#programme";
    /// `deploys`.
    pub const DEPLOYS: &str = "https://w3id.org/quartier/leitstelle#deploys";
    /// `fromDomain`.
    pub const FROM_DOMAIN: &str = "https://w3id.org/quartier/leitstelle#fromDomain";
    /// `toDomain`.
    pub const TO_DOMAIN: &str = "https://w3id.org/quartier/leitstelle#toDomain";
    /// `partners`.
    pub const PARTNERS: &str = "https://w3id.org/quartier/leitstelle#partners";
    /// `dependsOn`.
    pub const DEPENDS_ON: &str = "https://w3id.org/quartier/leitstelle#dependsOn";
    /// `indicator`.
    pub const INDICATOR: &str = "https://w3id.org/quartier/leitstelle#indicator";
    /// `stage`.
    pub const STAGE: &str = "https://w3id.org/quartier/leitstelle#stage";
    /// `trl`.
    pub const TRL: &str = "https://w3id.org/quartier/leitstelle#trl";
    /// `budget`.
    pub const BUDGET: &str = "https://w3id.org/quartier/leitstelle#budget";
    /// `ownFunds`.
    pub const OWN_FUNDS: &str = "https://w3id.org/quartier/leitstelle#ownFunds";
    /// `operatingModel`.
    pub const OPERATING_MODEL: &str = "https://w3id.org/quartier/leitstelle#operatingModel";
    /// `usesEntityTypes`.
    pub const USES_ENTITY_TYPES: &str = "https://w3id.org/quartier/leitstelle#usesEntityTypes";
    /// `usesDatasets`.
    pub const USES_DATASETS: &str = "https://w3id.org/quartier/leitstelle#usesDatasets";
    /// `keywords`.
    pub const KEYWORDS: &str = "https://w3id.org/quartier/leitstelle#keywords";
    /// `climateImpact`.
    pub const CLIMATE_IMPACT: &str = "https://w3id.org/quartier/leitstelle#climateImpact";
    /// `baseline`.
    pub const BASELINE: &str = "https://w3id.org/quartier/leitstelle#baseline";
    /// `targetValue`.
    pub const TARGET_VALUE: &str = "https://w3id.org/quartier/leitstelle#targetValue";
    /// `targetDate`.
    pub const TARGET_DATE: &str = "https://w3id.org/quartier/leitstelle#targetDate";
    /// `direction`.
    pub const DIRECTION: &str = "https://w3id.org/quartier/leitstelle#direction";
    /// `legalBasis`.
    pub const LEGAL_BASIS: &str = "https://w3id.org/quartier/leitstelle#legalBasis";
    /// `unit`.
    pub const UNIT: &str = "https://w3id.org/quartier/leitstelle#unit";
    /// `examples`.
    pub const EXAMPLES: &str = "https://w3id.org/quartier/leitstelle#examples";
    /// `query`.
    pub const QUERY: &str = "https://w3id.org/quartier/leitstelle#query";
    /// `aggregation`.
    pub const AGGREGATION: &str = "https://w3id.org/quartier/leitstelle#aggregation";
    /// `plannedDate`.
    pub const PLANNED_DATE: &str = "https://w3id.org/quartier/leitstelle#plannedDate";
    /// `actualDate`.
    pub const ACTUAL_DATE: &str = "https://w3id.org/quartier/leitstelle#actualDate";
    /// `evidence`.
    pub const EVIDENCE: &str = "https://w3id.org/quartier/leitstelle#evidence";
    /// `assessedAt`.
    pub const ASSESSED_AT: &str = "https://w3id.org/quartier/leitstelle#assessedAt";
    /// `assessor`.
    pub const ASSESSOR: &str = "https://w3id.org/quartier/leitstelle#assessor";
    /// `rationale`.
    pub const RATIONALE: &str = "https://w3id.org/quartier/leitstelle#rationale";
    /// `score`.
    pub const SCORE: &str = "https://w3id.org/quartier/leitstelle#score";
    /// `source`.
    pub const SOURCE: &str = "https://w3id.org/quartier/leitstelle#source";
    /// `category`.
    pub const CATEGORY: &str = "https://w3id.org/quartier/leitstelle#category";
    /// `bestPractice`.
    pub const BEST_PRACTICE: &str = "https://w3id.org/quartier/leitstelle#bestPractice";
    /// `url`.
    pub const URL: &str = "https://w3id.org/quartier/leitstelle#url";
    /// `provider`.
    pub const PROVIDER: &str = "https://w3id.org/quartier/leitstelle#provider";
    /// `text`.
    pub const TEXT: &str = "https://w3id.org/quartier/leitstelle#text";
    /// `outcome`.
    pub const OUTCOME: &str = "https://w3id.org/quartier/leitstelle#outcome";
    /// `fundingRate`.
    pub const FUNDING_RATE: &str = "https://w3id.org/quartier/leitstelle#fundingRate";
    /// `amount`.
    pub const AMOUNT: &str = "https://w3id.org/quartier/leitstelle#amount";
    /// `votes`.
    pub const VOTES: &str = "https://w3id.org/quartier/leitstelle#votes";
    /// `description`.
    pub const DESCRIPTION: &str = "http://purl.org/dc/terms/description";
    /// `status`.
    pub const STATUS: &str = "https://uri.etsi.org/ngsi-ld/status";
    /// `location`.
    pub const LOCATION: &str = "https://uri.etsi.org/ngsi-ld/location";
}
