// Signed out: sign in, accept an invitation (/accept-invitation?token=…) or set a new
// password with an admin's reset link (/reset-password?token=…). The links are the ones
// POST /api/team and POST /api/team/{id}/password-reset answer.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { auth } from "../api";
import { Field, Form, Page } from "../ui";

function SignInForm() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  return (
    <Page title="Sign in">
      <Form label="Sign in" submit="Sign in" onSubmit={() => auth.login(email.trim(), password)}>
        <Field label="E-mail" type="email" autoComplete="username" required value={email} onValue={setEmail} />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onValue={setPassword} />
      </Form>
      <p class="hint">Forgot your password? Ask an admin of your workspace for a reset link (Settings → Team).</p>
    </Page>
  );
}

function TokenForm({ kind, token }: { kind: "accept" | "reset"; token: string }) {
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const { route } = useLocation();
  const accept = kind === "accept";
  return (
    <Page title={accept ? "Accept your invitation" : "Choose a new password"}>
      <Form
        label={accept ? "Accept invitation" : "Reset password"}
        submit={accept ? "Join the workspace" : "Set password and sign in"}
        onSubmit={async () => {
          if (accept) await auth.accept(token, password, name.trim() || undefined);
          else await auth.reset(token, password);
          route("/", true);
        }}
      >
        {accept && <Field label="Your name (optional)" autoComplete="name" value={name} onValue={setName} />}
        <Field
          label={accept ? "Password" : "New password"}
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onValue={setPassword}
          hint={accept ? "At least 10 characters; if you already have an account, your current password." : "At least 10 characters."}
        />
      </Form>
    </Page>
  );
}

export default function SignIn() {
  const { path, query } = useLocation();
  const token = query.token ?? "";
  if (path === "/accept-invitation") return <TokenForm kind="accept" token={token} />;
  if (path === "/reset-password") return <TokenForm kind="reset" token={token} />;
  return <SignInForm />;
}
