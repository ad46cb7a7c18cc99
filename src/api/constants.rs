//! Label keys, annotation keys, reasons and messages, exactly as upstream spells them.

pub const GROUP_VERSION: &str = "jobset.x-k8s.io/v1alpha2";
pub const KIND_JOBSET: &str = "JobSet";
pub const JOBSET_CONTROLLER_NAME: &str = "jobset.sigs.k8s.io/jobset-controller";

pub const JOBSET_NAME_KEY: &str = "jobset.sigs.k8s.io/jobset-name";
pub const JOBSET_UID_KEY: &str = "jobset.sigs.k8s.io/jobset-uid";
pub const REPLICATED_JOB_NAME_KEY: &str = "jobset.sigs.k8s.io/replicatedjob-name";
pub const REPLICATED_JOB_REPLICAS_KEY: &str = "jobset.sigs.k8s.io/replicatedjob-replicas";
pub const GLOBAL_REPLICAS_KEY: &str = "jobset.sigs.k8s.io/global-replicas";
pub const JOB_INDEX_KEY: &str = "jobset.sigs.k8s.io/job-index";
pub const JOB_GLOBAL_INDEX_KEY: &str = "jobset.sigs.k8s.io/job-global-index";
pub const JOB_KEY_KEY: &str = "jobset.sigs.k8s.io/job-key";
pub const GROUP_NAME_KEY: &str = "jobset.sigs.k8s.io/group-name";
pub const GROUP_REPLICAS_KEY: &str = "jobset.sigs.k8s.io/group-replicas";
pub const JOB_GROUP_INDEX_KEY: &str = "jobset.sigs.k8s.io/job-group-index";
pub const RESTART_ATTEMPT_KEY: &str = "jobset.sigs.k8s.io/restart-attempt";
pub const JOB_RESTART_ATTEMPT_KEY: &str = "jobset.sigs.k8s.io/job-restart-attempt";
pub const COORDINATOR_KEY: &str = "jobset.sigs.k8s.io/coordinator";
pub const EXCLUSIVE_KEY: &str = "alpha.jobset.sigs.k8s.io/exclusive-topology";
pub const NODE_SELECTOR_STRATEGY_KEY: &str = "alpha.jobset.sigs.k8s.io/node-selector";
pub const NAMESPACED_JOB_KEY: &str = "alpha.jobset.sigs.k8s.io/namespaced-job";
pub const NO_SCHEDULE_TAINT_KEY: &str = "alpha.jobset.sigs.k8s.io/no-schedule";
pub const PRIORITY_KEY: &str = "jobset.sigs.k8s.io/priority";
pub const QUEUE_NAME_LABEL: &str = "kueue.x-k8s.io/queue-name";

pub const JOB_COMPLETION_INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

// JobSet condition types.
pub const COND_COMPLETED: &str = "Completed";
pub const COND_FAILED: &str = "Failed";
pub const COND_SUSPENDED: &str = "Suspended";
pub const COND_RESTARTING: &str = "RestartingJobSet";
pub const COND_STARTUP_IN_PROGRESS: &str = "StartupPolicyInProgress";
pub const COND_STARTUP_COMPLETED: &str = "StartupPolicyCompleted";

// JobSet condition reasons and messages.
pub const REASON_ALL_JOBS_COMPLETED: &str = "AllJobsCompleted";
pub const MSG_ALL_JOBS_COMPLETED: &str = "jobset completed successfully";
pub const REASON_FAILED_JOBS: &str = "FailedJobs";
pub const MSG_FAILED_JOBS: &str = "jobset failed due to one or more job failures";
pub const REASON_REACHED_MAX_RESTARTS: &str = "ReachedMaxRestarts";
pub const MSG_REACHED_MAX_RESTARTS: &str = "jobset failed due to reaching max number of restarts";
pub const REASON_FAIL_JOBSET_ACTION: &str = "FailJobSetFailurePolicyAction";
pub const REASON_SUSPENDED: &str = "SuspendedJobs";
pub const MSG_SUSPENDED: &str = "jobset is suspended";
pub const REASON_RESUMED: &str = "ResumeJobs";
pub const MSG_RESUMED: &str = "jobset is resumed";
pub const REASON_DEFAULT_FAILURE_POLICY: &str = "DefaultFailurePolicy";
pub const REASON_JOBS_READY: &str = "JobsReady";
pub const MSG_JOBS_READY: &str = "all jobs are ready";
pub const REASON_JOBSET_FAILED: &str = "JobSetFailed";
pub const MSG_JOBSET_FAILED: &str = "jobset failed";
pub const REASON_JOBSET_COMPLETED: &str = "JobSetCompleted";
pub const REASON_JOBSET_SUSPENDED: &str = "JobSetSuspended";
pub const REASON_STARTUP_IN_PROGRESS: &str = "InOrderStartupPolicyInProgress";
pub const MSG_STARTUP_IN_PROGRESS: &str = "in order startup policy is in progress";
pub const REASON_STARTUP_COMPLETED: &str = "InOrderStartupPolicyCompleted";
pub const MSG_STARTUP_COMPLETED: &str = "in order startup policy has completed";

// Event reasons.
pub const EVENT_JOB_CREATION_FAILED: &str = "JobCreationFailed";
pub const EVENT_HEADLESS_SERVICE_CREATION_FAILED: &str = "HeadlessServiceCreationFailed";

// Kubernetes Job condition types, reasons and messages.
pub const JOB_COMPLETE: &str = "Complete";
pub const JOB_FAILED: &str = "Failed";
pub const JOB_FAILURE_TARGET: &str = "FailureTarget";
pub const JOB_SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
pub const JOB_SUSPENDED: &str = "Suspended";
pub const JOB_REASON_BACKOFF_LIMIT: &str = "BackoffLimitExceeded";
pub const JOB_MSG_BACKOFF_LIMIT: &str = "Job has reached the specified backoff limit";
pub const JOB_REASON_DEADLINE: &str = "DeadlineExceeded";
pub const JOB_MSG_DEADLINE: &str = "Job was active longer than specified deadline";
pub const JOB_REASON_POD_FAILURE_POLICY: &str = "PodFailurePolicy";
pub const JOB_REASON_MAX_FAILED_INDEXES: &str = "MaxFailedIndexesExceeded";
pub const JOB_MSG_MAX_FAILED_INDEXES: &str = "Job has exceeded the specified maximal number of failed indexes";
pub const JOB_REASON_FAILED_INDEXES: &str = "FailedIndexes";
pub const JOB_MSG_FAILED_INDEXES: &str = "Job has failed indexes";
pub const JOB_REASON_COMPLETIONS_REACHED: &str = "CompletionsReached";
pub const JOB_MSG_COMPLETIONS_REACHED: &str = "Reached expected number of succeeded pods";
pub const JOB_REASON_SUSPENDED: &str = "JobSuspended";
pub const JOB_MSG_SUSPENDED: &str = "Job suspended";
pub const JOB_REASON_RESUMED: &str = "JobResumed";
pub const JOB_MSG_RESUMED: &str = "Job resumed";

/// The five Job failure reasons a failure-policy rule may name.
pub const JOB_FAILURE_REASONS: [&str; 5] = [
    JOB_REASON_BACKOFF_LIMIT,
    JOB_REASON_DEADLINE,
    JOB_REASON_FAILED_INDEXES,
    JOB_REASON_MAX_FAILED_INDEXES,
    JOB_REASON_POD_FAILURE_POLICY,
];

/// Kubernetes Job pod-recreation backoff: 10 s doubling, capped at 10 min.
pub const JOB_POD_FAILURE_BACKOFF_MS: u64 = 10_000;
pub const JOB_POD_FAILURE_BACKOFF_MAX_MS: u64 = 600_000;
/// A Job sync that failed (e.g. a pod create rejected by a webhook) is retried
/// after 1 s doubling to 60 s (`DefaultJobApiBackOff`, `MaxJobApiBackOff`).
pub const JOB_API_BACKOFF_MS: u64 = 1_000;
pub const JOB_API_BACKOFF_MAX_MS: u64 = 60_000;
/// The Job controller batches pod events for one second.
pub const JOB_SYNC_BATCH_PERIOD_MS: u64 = 1_000;

// In-place restart (§16) and volume claim policies (§15).
pub const IN_PLACE_RESTART_ATTEMPT_KEY: &str = "jobset.sigs.k8s.io/in-place-restart-attempt";
pub const DISABLE_IN_PLACE_RESTART_KEY: &str = "jobset.sigs.k8s.io/disable-in-place-restart";
pub const RESTART_STRATEGY_IN_PLACE: &str = "InPlaceRestart";
/// The agent's default in-place restart exit code (`IN_PLACE_RESTART_EXIT_CODE`).
pub const IN_PLACE_RESTART_EXIT_CODE: i32 = 1;
