// The dynamic provider's methods. This module runs inside Pulumi's dynamic-provider process; the resource's
// serialized shim loads it by package name, so nothing here is captured into state.
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { Ec2ReadError } from "./aws/read";
import {
  applyDesiredRules,
  desiredRulesOf,
  PartialApplyError,
  type ProviderEnv,
  readAndPlan,
  refreshRules,
  revokeAllOwned,
  rulesMissingInEc2,
  skippedObjectsOf,
} from "./engine";
import {
  containsUnknown,
  type BackendSecurityGroupRulesInputs as Inputs,
  type BackendSecurityGroupRulesOutputs as Outputs,
  UNKNOWN,
  validateInputs,
} from "./inputs";
import { ClusterReadError } from "./k8s/read";

const env: ProviderEnv = {};

function problemProperty(object: string): string {
  return object === "options" ? "backendSecurityGroupId" : "cluster";
}

/** Errors must never carry the kubeconfig: strip anything that looks like it before it reaches the engine. */
function safeMessage(err: unknown, inputs?: Partial<Inputs>): string {
  let msg = err instanceof Error ? err.message : String(err);
  const secret = inputs?.cluster?.kubeconfig;
  if (secret && secret.length > 0) msg = msg.split(secret).join("[secret]");
  return msg;
}

export const provider: dynamic.ResourceProvider<Inputs, Outputs> = {
  async configure(req) {
    // The same stack settings @pulumi/aws reads, so one `pulumi config set aws:...` serves both.
    const region = req.config.get("aws:region");
    if (region) env.region = region;
    const profile = req.config.get("aws:profile");
    if (profile) env.profile = profile;
  },

  async check(olds, news) {
    const failures = validateInputs(news as unknown as Record<string, unknown>);
    if (failures.length > 0) return { inputs: news, failures };
    const ownerChanged =
      olds?.ownerId !== undefined && olds.ownerId !== news.ownerId && olds.desiredRules !== undefined;
    if (ownerChanged) {
      return {
        inputs: news,
        failures: [
          {
            property: "ownerId",
            reason: `ownerId changed from "${olds.ownerId}" to "${news.ownerId}"; expected the old ownerId, which the existing rules carry as their owner tag (set ownerId explicitly when renaming the project, stack or resource; a replacement would leave the rules unowned until the old resource's delete revokes them)`,
          },
        ],
      };
    }
    // A cluster created in the same program is unknown during the first preview: so are the rules.
    if (containsUnknown(news)) {
      return {
        inputs: {
          ...news,
          desiredRules: UNKNOWN as unknown as Record<string, string>,
          skippedObjects: UNKNOWN as unknown as Record<string, string>,
        },
      };
    }
    const inputs: Inputs = { ...news };
    delete inputs.desiredRules;
    delete inputs.skippedObjects;
    try {
      const run = await readAndPlan(inputs, env, olds?.desiredRules ?? {});
      if (run.plan.problems.length > 0) {
        return {
          inputs: news,
          failures: run.plan.problems.map((p) => ({
            property: problemProperty(p.object),
            reason: p.message,
          })),
        };
      }
      return {
        inputs: {
          ...inputs,
          desiredRules: desiredRulesOf(run.plan),
          skippedObjects: skippedObjectsOf(run.plan),
        },
      };
    } catch (err) {
      const property =
        err instanceof ClusterReadError
          ? "cluster"
          : err instanceof Ec2ReadError && err.property !== undefined
            ? err.property
            : "region";
      return { inputs: news, failures: [{ property, reason: safeMessage(err, news) }] };
    }
  },

  async diff(_id, olds, news) {
    if (containsUnknown(news.desiredRules)) return { changes: true };
    const before = olds.desiredRules ?? {};
    const after = news.desiredRules ?? {};
    const sameRules =
      Object.keys(before).length === Object.keys(after).length &&
      Object.entries(after).every(([k, v]) => before[k] === v);
    // A rule we recorded but that is gone (refresh saw it revoked out of band) must be restored.
    const missing = Object.keys(after).some((k) => olds.rules?.[k] === undefined);
    const sameSkipped =
      JSON.stringify(olds.skippedObjects ?? {}) === JSON.stringify(news.skippedObjects ?? {});
    const sameSettings =
      (olds.adoptExistingRules ?? false) === (news.adoptExistingRules ?? false) &&
      olds.ownerId === news.ownerId &&
      (olds.region ?? "") === (news.region ?? "");
    let unchanged = sameRules && !missing && sameSkipped && sameSettings;
    // State can say a rule exists when it no longer does (another stack's destroy revoked the identical rule we
    // counted as satisfied; a hand revoke without refresh): only EC2 knows, and an update restores it.
    if (unchanged && Object.keys(after).length > 0)
      unchanged = (await rulesMissingInEc2(olds, Object.keys(after), env)).length === 0;
    return {
      changes: !unchanged,
      replaces: [],
      deleteBeforeReplace: false,
    };
  },

  async create(inputs) {
    const id = inputs.ownerId;
    try {
      const { outputs } = await applyDesiredRules(id, inputs, undefined, env);
      return { id, outs: outputs };
    } catch (err) {
      throw withProvider(err, inputs);
    }
  },

  async update(id, olds, news) {
    try {
      const { outputs } = await applyDesiredRules(id, news, olds, env, olds.sourceSecurityGroupId);
      return { outs: outputs };
    } catch (err) {
      throw withProvider(err, news);
    }
  },

  async read(id, props) {
    if (props === undefined) return { id };
    const refreshed = await refreshRules(props, env);
    const lost = Object.keys(props.desiredRules ?? {}).filter(
      (k) => refreshed.desiredRules?.[k] === undefined,
    );
    if (lost.length === 0) return { id, props: refreshed };
    // Rules revoked out of band: hand the engine inputs without them, so the next preview shows each as a `+`
    // line. The kubeconfig is not in outputs, so these inputs never carry it (the preview shows it as re-added).
    const {
      rules: _rules,
      counts: _counts,
      stateVersion: _v,
      sourceSecurityGroupId: _s,
      ...inputs
    } = refreshed;
    return { id, props: refreshed, inputs: inputs as unknown as Outputs };
  },

  async delete(_id, props) {
    await revokeAllOwned(props, env);
  },
};

/**
 * A partial apply reaches the engine as an error with `id` and `properties` (recorded as the resource's state);
 * those properties must keep the serialized provider, or the next operation could not load it.
 */
function withProvider(err: unknown, inputs: Inputs): unknown {
  if (err instanceof PartialApplyError) {
    const serialized = (inputs as unknown as Record<string, unknown>).__provider;
    Object.assign(err.properties, { __provider: serialized });
    return err;
  }
  return err instanceof Error ? new Error(safeMessage(err, inputs)) : err;
}
