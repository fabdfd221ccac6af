/**
 * Pool & host: the warm pool against its configuration, the configuration form and host health
 * for host admins; the configuration read-only for everyone else (the pool is the host's).
 */
import { api } from "@convex/_generated/api";
import { useQuery } from "convex/react";
import { PageHeader } from "../../components/PageHeader";
import { LoadingState } from "../../components/States";
import { HostHealthCard } from "../../modules/pool/HostHealthCard";
import { PoolConfigForm } from "../../modules/pool/PoolConfigForm";
import { PoolGauges } from "../../modules/pool/PoolGauges";

export function PoolPage() {
  const status = useQuery(api.pool.status);
  const me = useQuery(api.account.me);
  return (
    <>
      <PageHeader title="Pool & host" subtitle="Warm containers wait here, so a request skips container creation." />
      {status === undefined || me === undefined ? (
        <LoadingState label="Loading the pool" />
      ) : (
        <div className="pool-layout">
          <div className="stack">
            <PoolGauges status={status} />
            {/* Keyed by the saved config, so a change made elsewhere resets the form. */}
            <PoolConfigForm key={JSON.stringify(status.config)} config={status.config} readOnly={!me.isHostAdmin} />
          </div>
          {me.isHostAdmin && <HostHealthCard />}
        </div>
      )}
    </>
  );
}
