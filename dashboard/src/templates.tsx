// The approved-template picker the inbox's reply box and the campaign form share: a
// template of the device, a field per body variable, and the body as it will read.
import { useState } from "preact/hooks";
import { api } from "./api";
import { Field, Loading, Select, useLoad } from "./ui";

export type ChosenTemplate = { name: string; language: string; variables?: string[] };

/**
 * Picks one of `device`'s approved templates and its variables; `onValue` gets the template
 * as the API takes it (null until one is chosen). `fill` turns a variable into what the
 * preview shows (a campaign fills {{name}} and {{phone}} per recipient).
 */
export function TemplatePicker({ device, onValue, hint, fill = (v) => v }: { device: string; onValue: (t: ChosenTemplate | null) => void; hint?: string; fill?: (v: string) => string }) {
  const t = useLoad(() => api("GET", `/api/templates?${new URLSearchParams({ deviceId: device, status: "APPROVED", limit: "100" })}`), [device]);
  const [pick, setPick] = useState("");
  const [vars, setVars] = useState<string[]>([]);
  const list: any[] = t.data?.templates ?? [];
  const chosen = list.find((x) => `${x.name}|${x.language}` === pick);
  const count = chosen ? (chosen.bodyVariables ?? 0) : 0;
  const body: string | undefined = chosen?.components?.find((c: any) => c.type === "BODY")?.text;
  const report = (p: string, v: string[]) => {
    const c = list.find((x) => `${x.name}|${x.language}` === p);
    const n = c ? (c.bodyVariables ?? 0) : 0;
    onValue(c ? { name: c.name, language: c.language, ...(n ? { variables: v.slice(0, n) } : {}) } : null);
  };
  if (t.loading || t.error) return <Loading loading={t.loading} error={t.error} />;
  if (!list.length) return <p>No approved templates: an admin syncs them in Settings.</p>;
  return (
    <>
      <Select
        label="Template"
        value={pick}
        onValue={(p) => (setPick(p), setVars([]), report(p, []))}
        options={[["", "Choose…"], ...list.map((x) => [`${x.name}|${x.language}`, `${x.name} (${x.language})`] as [string, string])]}
      />
      {Array.from({ length: count }, (_, i) => (
        <Field
          key={i}
          label={`Variable {{${i + 1}}}`}
          hint={i === 0 ? hint : undefined}
          required
          value={vars[i] ?? ""}
          onValue={(v) => {
            const next = Object.assign([...vars], { [i]: v });
            setVars(next);
            report(pick, next);
          }}
        />
      ))}
      {body && (
        <p class="preview" data-testid="template-preview">
          {body.replace(/\{\{(\d+)\}\}/g, (all: string, n: string) => (vars[Number(n) - 1] ? fill(vars[Number(n) - 1]) : all))}
        </p>
      )}
    </>
  );
}
