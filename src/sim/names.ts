/** Word lists for names that look like a real organization's. */

export const PROJECT_NAMES = [
  "networking",
  "payments-api",
  "web-frontend",
  "data-platform",
  "identity",
  "observability",
  "search",
  "billing",
  "mobile-backend",
  "ml-pipeline",
  "edge-cdn",
  "messaging",
  "inventory",
  "analytics",
  "k8s-clusters",
  "shared-infra",
] as const;

export const STACK_ENVIRONMENTS = [
  "dev",
  "staging",
  "prod",
  "test",
  "qa",
  "sandbox",
  "preview",
  "perf",
] as const;

export const FIRST_NAMES = [
  "Ada",
  "Grace",
  "Alan",
  "Linus",
  "Margaret",
  "Dennis",
  "Barbara",
  "Ken",
  "Frances",
  "Edsger",
  "Radia",
  "Leslie",
  "Katherine",
  "John",
  "Hedy",
  "Niklaus",
] as const;

export const LAST_NAMES = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Torvalds",
  "Hamilton",
  "Ritchie",
  "Liskov",
  "Thompson",
  "Allen",
  "Dijkstra",
  "Perlman",
  "Lamport",
  "Johnson",
  "McCarthy",
  "Lamarr",
  "Wirth",
] as const;

export const TEAM_NAMES = [
  "platform",
  "sre",
  "security",
  "data",
  "frontend",
  "backend",
  "mobile",
  "finops",
  "ml",
  "developer-experience",
] as const;

export const POLICY_PACK_NAMES = [
  "aws-compliance",
  "kubernetes-best-practices",
  "cost-controls",
  "security-baseline",
  "tagging-standards",
  "azure-cis",
  "gcp-guardrails",
  "encryption-at-rest",
] as const;

export const RESOURCE_TYPES = [
  "aws:s3/bucketV2:BucketV2",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:rds/instance:Instance",
  "aws:iam/role:Role",
  "kubernetes:apps/v1:Deployment",
  "azure-native:storage:StorageAccount",
  "gcp:compute/instance:Instance",
] as const;

export const POLICY_NAMES = [
  "s3-no-public-read",
  "require-encryption",
  "restrict-ingress-cidr",
  "required-tags",
  "max-instance-size",
  "no-latest-image-tag",
  "enable-deletion-protection",
  "rotate-access-keys",
] as const;

export const NEO_TASK_NAMES = [
  "Upgrade the EKS cluster",
  "Fix drift in networking",
  "Remediate policy violations",
  "Add tags to untagged resources",
  "Explain failed update",
  "Right-size RDS instances",
  "Migrate to ESC environments",
  "Review pull request",
] as const;
