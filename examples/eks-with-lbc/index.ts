// A full stack as a platform team builds it: VPC, EKS cluster and managed node group, the AWS Load Balancer
// Controller from its Helm chart, the shared backend security group, a sample app behind an ALB Ingress with its
// own frontend security group, and BackendSecurityGroupRules managing the backend rules with the global flag on.
//
// Who manages which rules (see the README's "Running beside the LBC"):
// - the controller runs with enableManageBackendSecurityGroupRules=false (its default): for objects that set
//   their own frontend security groups it adds no backend rules;
// - this stack's BackendSecurityGroupRules has the global flag on, so those objects get their rules here, through
//   `pulumi preview` and review;
// - the LBC attaches the backend SG to a load balancer only when it manages that load balancer's backend rules,
//   so the Ingress below lists the backend SG itself in alb.ingress.kubernetes.io/security-groups.
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BackendSecurityGroupRules } from "pulumi-lbc-backend-sg";

const config = new pulumi.Config();
const clusterName = config.get("clusterName") ?? "lbc-demo";
const kubernetesVersion = config.get("kubernetesVersion") ?? "1.33";
const lbcChartVersion = config.get("lbcChartVersion") ?? "3.5.0";
const region = aws.config.requireRegion();

// ---- network: one VPC, two public subnets tagged for ALB subnet discovery ----

const vpc = new aws.ec2.Vpc("vpc", {
  cidrBlock: "10.40.0.0/16",
  enableDnsHostnames: true,
  enableDnsSupport: true,
  tags: { Name: `${clusterName}-vpc` },
});
const igw = new aws.ec2.InternetGateway("igw", { vpcId: vpc.id });
const routes = new aws.ec2.RouteTable("public", {
  vpcId: vpc.id,
  routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
});
const zones = aws.getAvailabilityZonesOutput({ state: "available" });
const subnets = [0, 1].map((i) => {
  const subnet = new aws.ec2.Subnet(`public-${i}`, {
    vpcId: vpc.id,
    cidrBlock: `10.40.${i * 16}.0/20`,
    availabilityZone: zones.names.apply((names) => names[i] ?? names[0]!),
    mapPublicIpOnLaunch: true,
    tags: {
      Name: `${clusterName}-public-${i}`,
      "kubernetes.io/role/elb": "1",
      [`kubernetes.io/cluster/${clusterName}`]: "shared",
    },
  });
  new aws.ec2.RouteTableAssociation(`public-${i}`, { subnetId: subnet.id, routeTableId: routes.id });
  return subnet;
});
const subnetIds = subnets.map((s) => s.id);

// ---- IAM roles for the control plane and the nodes ----

function serviceRole(name: string, service: string, policies: string[]): aws.iam.Role {
  const role = new aws.iam.Role(name, {
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    }),
  });
  policies.forEach((policy, i) => {
    new aws.iam.RolePolicyAttachment(`${name}-${i}`, {
      role: role.name,
      policyArn: `arn:aws:iam::aws:policy/${policy}`,
    });
  });
  return role;
}

const clusterRole = serviceRole("cluster-role", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"]);
const nodeRole = serviceRole("node-role", "ec2.amazonaws.com", [
  "AmazonEKSWorkerNodePolicy",
  "AmazonEKS_CNI_Policy",
  "AmazonEC2ContainerRegistryReadOnly",
]);

// ---- the cluster and its nodes ----

const cluster = new aws.eks.Cluster("cluster", {
  name: clusterName,
  version: kubernetesVersion,
  roleArn: clusterRole.arn,
  vpcConfig: { subnetIds, endpointPublicAccess: true },
  // The identity running `pulumi up` becomes cluster admin, so the Kubernetes provider and
  // BackendSecurityGroupRules can read the cluster with the kubeconfig below.
  accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
});

// Managed node group without a launch template: each node's primary ENI carries only the EKS cluster security
// group, which is where BackendSecurityGroupRules puts the rules for instance targets.
const nodes = new aws.eks.NodeGroup("nodes", {
  clusterName: cluster.name,
  nodeRoleArn: nodeRole.arn,
  subnetIds,
  instanceTypes: ["t3.medium"],
  scalingConfig: { desiredSize: 2, minSize: 2, maxSize: 3 },
});

const podIdentityAgent = new aws.eks.Addon("pod-identity-agent", {
  clusterName: cluster.name,
  addonName: "eks-pod-identity-agent",
});

// kubeconfig with the aws CLI as credential plugin: both the Kubernetes provider and BackendSecurityGroupRules'
// provider process run `aws eks get-token`, so the aws CLI must be on PATH where `pulumi` runs.
const kubeconfig = pulumi.secret(
  pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([name, endpoint, ca]) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name, cluster: { server: endpoint, "certificate-authority-data": ca.data } }],
      users: [
        {
          name: "aws",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "aws",
              args: ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
              interactiveMode: "Never",
            },
          },
        },
      ],
      contexts: [{ name, context: { cluster: name, user: "aws" } }],
      "current-context": name,
    }),
  ),
);
const k8sProvider = new k8s.Provider("cluster", { kubeconfig }, { dependsOn: [nodes] });

// ---- the shared backend security group, created here so both the LBC and this stack know its id ----

const backendSg = new aws.ec2.SecurityGroup("backend-sg", {
  vpcId: vpc.id,
  description: `Shared backend security group of the load balancers of ${clusterName}`,
  egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  tags: {
    Name: `${clusterName}-lb-backend`,
    // The tags the LBC (and BackendSecurityGroupRules, when backendSecurityGroupId is not given) look up.
    "elbv2.k8s.aws/cluster": clusterName,
    "elbv2.k8s.aws/resource": "backend-sg",
  },
});

// The frontend security group of the sample ALB: who may reach the load balancer.
const frontendSg = new aws.ec2.SecurityGroup("web-frontend-sg", {
  vpcId: vpc.id,
  description: "Who may reach the web ALB",
  ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] }],
  egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  tags: { Name: `${clusterName}-web-frontend` },
});

// ---- the AWS Load Balancer Controller ----

// The controller's own policy, as published for its release (see README step 2): it keeps the rights to manage
// the load balancers and frontend SGs.
const lbcPolicy = new aws.iam.Policy("lbc", {
  policy: fs.readFileSync(path.join(__dirname, "lbc-iam-policy.json"), "utf8"),
});
const lbcRole = new aws.iam.Role("lbc", {
  assumeRolePolicy: JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      },
    ],
  }),
});
new aws.iam.RolePolicyAttachment("lbc", { role: lbcRole.name, policyArn: lbcPolicy.arn });
const lbcIdentity = new aws.eks.PodIdentityAssociation(
  "lbc",
  {
    clusterName: cluster.name,
    namespace: "kube-system",
    serviceAccount: "aws-load-balancer-controller",
    roleArn: lbcRole.arn,
  },
  { dependsOn: [podIdentityAgent] },
);

const lbc = new k8s.helm.v3.Release(
  "aws-load-balancer-controller",
  {
    name: "aws-load-balancer-controller",
    chart: "aws-load-balancer-controller",
    version: lbcChartVersion,
    repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
    namespace: "kube-system",
    values: {
      clusterName,
      region,
      vpcId: vpc.id,
      serviceAccount: { create: true, name: "aws-load-balancer-controller" },
      // --enable-backend-security-group and --backend-security-group: use our SG, never auto-create one
      // (an explicitly given backend SG is never deleted by the controller).
      enableBackendSecurityGroup: true,
      backendSecurityGroup: backendSg.id,
      // --enable-manage-backend-security-group-rules=false: objects with explicit frontend SGs and no
      // manage annotation get no backend rules from the controller; BackendSecurityGroupRules adds them.
      enableManageBackendSecurityGroupRules: false,
    },
  },
  { provider: k8sProvider, dependsOn: [lbcIdentity] },
);

// ---- a sample app: Deployment, NodePort Service, ALB Ingress with its own frontend SGs ----

const ns = new k8s.core.v1.Namespace("shop", { metadata: { name: "shop" } }, { provider: k8sProvider });
const labels = { app: "web" };
const web = new k8s.apps.v1.Deployment(
  "web",
  {
    metadata: { name: "web", namespace: ns.metadata.name },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "web",
              image: "public.ecr.aws/nginx/nginx:1.27",
              ports: [{ name: "http", containerPort: 80 }],
            },
          ],
        },
      },
    },
  },
  { provider: k8sProvider },
);
const webService = new k8s.core.v1.Service(
  "web",
  {
    metadata: { name: "web", namespace: ns.metadata.name },
    // instance targets: the ALB sends traffic to the nodePort, which is what the backend rule opens
    spec: { type: "NodePort", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  { provider: k8sProvider, dependsOn: [web] },
);
const ingress = new k8s.networking.v1.Ingress(
  "web",
  {
    metadata: {
      name: "web",
      namespace: ns.metadata.name,
      annotations: {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "instance",
        // Explicit frontend SGs: the LBC makes none and, with its flag off, adds no backend rules. The backend
        // SG is listed too, because the LBC attaches it only when it manages the backend rules itself.
        "alb.ingress.kubernetes.io/security-groups": pulumi.interpolate`${frontendSg.id},${backendSg.id}`,
      },
    },
    spec: {
      ingressClassName: "alb",
      rules: [
        {
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: webService.metadata.name, port: { name: "http" } } },
              },
            ],
          },
        },
      ],
    },
  },
  { provider: k8sProvider, dependsOn: [lbc] },
);

// ---- the backend rules, reviewed in `pulumi preview --diff` ----

const backendRules = new BackendSecurityGroupRules(
  "backend-rules",
  {
    // the LBC's --enable-manage-backend-security-group-rules, moved here
    manageBackendSecurityGroupRules: true,
    cluster: { name: cluster.name, kubeconfig },
    region,
    backendSecurityGroupId: backendSg.id,
    vpcId: vpc.id,
    portMode: "minimal",
  },
  // Registered after the workloads so the first `pulumi up` plans from the objects this program creates.
  { dependsOn: [ingress, nodes] },
);

export const clusterNameOutput = cluster.name;
export const kubeconfigOutput = kubeconfig;
export const backendSecurityGroupId = backendSg.id;
export const ingressHostname = ingress.status.loadBalancer.ingress.apply((list) => list?.[0]?.hostname);
export const backendRuleCounts = backendRules.counts;
export const backendRulesByKey = backendRules.desiredRules;
export const objectsWithoutRules = backendRules.skippedObjects;
