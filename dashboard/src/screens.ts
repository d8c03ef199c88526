// Every screen of the app in one table: the navigation, the router and the role checks all
// read it. Adding a screen is one row here and one file in screens/ (docs/dashboard.md).
import { lazy } from "preact-iso";
import type { ComponentType } from "preact";
import type { Role } from "./api";

export interface Screen {
  path: string;
  label: string;
  /** The least role that sees it; "super" for the platform's super admins. */
  needs: Role | "super";
  /** Sub-paths (`/settings/keys`) render the same screen. */
  prefix?: boolean;
  component: ComponentType<any>;
}

export const screens: Screen[] = [
  { path: "/inbox", label: "Team Inbox", needs: "agent", prefix: true, component: lazy(() => import("./screens/Inbox")) },
  { path: "/contacts", label: "Contacts", needs: "agent", prefix: true, component: lazy(() => import("./screens/Contacts")) },
  { path: "/campaigns", label: "Campaigns", needs: "manager", prefix: true, component: lazy(() => import("./screens/Campaigns")) },
  { path: "/auto-reply", label: "Auto-Reply", needs: "manager", prefix: true, component: lazy(() => import("./screens/AutoReply")) },
  { path: "/analytics", label: "Analytics", needs: "manager", component: lazy(() => import("./screens/Analytics")) },
  { path: "/settings", label: "Settings", needs: "manager", prefix: true, component: lazy(() => import("./screens/Settings")) },
  { path: "/admin", label: "Admin", needs: "super", prefix: true, component: lazy(() => import("./screens/Admin")) },
];
