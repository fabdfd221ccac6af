// The team page on a fake Convex client: members with roles and "you", role changes and
// removals behind a dialog, the invite link shown once, pending invitations revoked, a new team,
// linked GitHub App installations, a member's read-only view, and loading and error states.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { INSTALLATIONS, INVITATIONS, MEMBERS, NOW, TEAMS, TEAMS_AS_MEMBER } from "../fake-convex/fixtures";
import { renderApp } from "../render";

function renderTeam({ teams = TEAMS, members = MEMBERS } = {}) {
  const view = renderApp("/team");
  act(() => {
    view.fake.setQuery("teams:mine", teams);
    view.fake.setQuery("teams:members", members);
    view.fake.setQuery("invitations:list", INVITATIONS);
    view.fake.setQuery("github:installations", INSTALLATIONS);
  });
  return view;
}

describe("TeamPage", () => {
  it("is in the sidebar, and loads before it shows the members", async () => {
    const { fake } = renderApp("/team");
    expect(await screen.findByRole("link", { name: /Team/ })).toHaveAttribute("href", "/team");
    expect(screen.getByRole("status", { name: "Loading the team" })).toBeInTheDocument();
    act(() => fake.setQuery("teams:mine", TEAMS));
    expect(screen.getByRole("status", { name: "Loading the team" })).toBeInTheDocument();
    act(() => fake.setQuery("teams:members", MEMBERS));
    expect(await screen.findByRole("heading", { name: "alice's team" })).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Members" });
    const me = within(table).getByTestId("member-m1");
    expect(me).toHaveTextContent("alice@example.com");
    expect(within(me).getByText("you")).toBeInTheDocument();
    expect(within(table).getByTestId("member-m3")).toHaveTextContent("(no email)");
    expect(within(table).getByRole("combobox", { name: "Role of bob@example.com" })).toHaveValue("admin");
  });

  it("changes a role only after the dialog is confirmed", async () => {
    const { fake } = renderTeam();
    const role = await screen.findByRole("combobox", { name: "Role of bob@example.com" });
    fireEvent.change(role, { target: { value: "member" } });
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Make bob@example.com a member?");
    expect(fake.callsTo("teams:setRole")).toEqual([]);
    await act(async () => within(dialog).getByRole("button", { name: "Change role" }).click());
    expect(fake.callsTo("teams:setRole")).toEqual([{ membershipId: "m2", role: "member" }]);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("removes a member after confirmation, and shows a refusal in the dialog", async () => {
    const { fake } = renderTeam();
    const remove = await screen.findByRole("button", { name: "Remove bob@example.com" });
    await act(async () => remove.click());
    let dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Remove bob@example.com from alice's team?");
    await act(async () => within(dialog).getByRole("button", { name: "Remove member" }).click());
    expect(fake.callsTo("teams:removeMember")).toEqual([{ membershipId: "m2" }]);

    fake.on("teams:removeMember", () => {
      throw new Error("Server Error Uncaught Error: The last owner cannot leave; make someone else an owner first");
    });
    await act(async () => screen.getByRole("button", { name: "Leave alice's team" }).click());
    dialog = screen.getByRole("dialog");
    await act(async () => within(dialog).getByRole("button", { name: "Leave team" }).click());
    expect(within(dialog).getByRole("alert")).toHaveTextContent("The last owner cannot leave");
  });

  it("invites by email and shows the link once, with when it expires", async () => {
    const { fake } = renderTeam();
    fake.on("invitations:create", () => ({ invitationId: "i2", token: "tok-123", expiresAt: NOW + 7 * 86_400_000 }));
    const form = await screen.findByRole("region", { name: "Invite someone" });
    fireEvent.change(within(form).getByRole("textbox", { name: "Email" }), { target: { value: " dave@example.com " } });
    fireEvent.change(within(form).getByRole("combobox", { name: "Role" }), { target: { value: "admin" } });
    await act(async () => within(form).getByRole("button", { name: "Invite" }).click());
    expect(fake.callsTo("invitations:create")).toEqual([{ email: "dave@example.com", role: "admin" }]);

    const created = within(form).getByRole("region", { name: "New invitation" });
    expect(within(created).getByRole("textbox", { name: "Invite link" })).toHaveValue(
      `${window.location.origin}/invite/tok-123`,
    );
    expect(created).toHaveTextContent("dave@example.com");
    expect(created).toHaveTextContent(/expires in [67] d/);
    expect(created).toHaveTextContent("shown only now");
    expect(within(form).getByRole("textbox", { name: "Email" })).toHaveValue("");

    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    await act(async () => within(created).getByRole("button", { name: "Copy link" }).click());
    expect(writeText).toHaveBeenCalledWith(`${window.location.origin}/invite/tok-123`);
    expect(within(created).getByRole("button", { name: "Copied" })).toBeInTheDocument();

    await act(async () => within(created).getByRole("button", { name: "Done" }).click());
    expect(screen.queryByRole("textbox", { name: "Invite link" })).not.toBeInTheDocument();
    expect(document.body).not.toHaveTextContent("tok-123");
  });

  it("shows the server's refusal of an invitation", async () => {
    const { fake } = renderTeam();
    fake.on("invitations:create", () => {
      throw new Error('Server Error Uncaught Error: "x@y" is not an email address');
    });
    const form = await screen.findByRole("region", { name: "Invite someone" });
    fireEvent.change(within(form).getByRole("textbox", { name: "Email" }), { target: { value: "x@y" } });
    await act(async () => within(form).getByRole("button", { name: "Invite" }).click());
    expect(within(form).getByRole("alert")).toHaveTextContent('"x@y" is not an email address');
    expect(within(form).queryByRole("region", { name: "New invitation" })).not.toBeInTheDocument();
  });

  it("lists pending invitations and revokes one", async () => {
    const { fake } = renderTeam();
    const list = await screen.findByRole("region", { name: "Pending invitations" });
    expect(list).toHaveTextContent("carol@example.com");
    expect(list).toHaveTextContent("Member, expires in 5 d");
    await act(async () =>
      within(list).getByRole("button", { name: "Revoke the invitation of carol@example.com" }).click(),
    );
    expect(fake.callsTo("invitations:revoke")).toEqual([{ invitationId: "i1" }]);
    act(() => fake.setQuery("invitations:list", []));
    expect(within(list).getByText("No pending invitations.")).toBeInTheDocument();
  });

  it("lists linked GitHub App installations and unlinks one after confirmation", async () => {
    const { fake } = renderTeam();
    const card = await screen.findByRole("region", { name: "GitHub App" });
    expect(card).toHaveTextContent("acme");
    expect(card).toHaveTextContent("linked 3 d ago");
    await act(async () => within(card).getByRole("button", { name: "Unlink acme" }).click());
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Unlink the GitHub App installation on acme?");
    expect(fake.callsTo("github:unlink")).toEqual([]);
    await act(async () => within(dialog).getByRole("button", { name: "Unlink" }).click());
    expect(fake.callsTo("github:unlink")).toEqual([{ installationId: 4242 }]);
  });

  it("makes a new team", async () => {
    const { fake } = renderTeam();
    fake.on("teams:create", () => "t3");
    const newTeam = await screen.findByRole("button", { name: "New team" });
    await act(async () => newTeam.click());
    const form = screen.getByRole("form", { name: "New team" });
    fireEvent.change(within(form).getByRole("textbox", { name: "Team name" }), { target: { value: " Infra " } });
    await act(async () => within(form).getByRole("button", { name: "Create team" }).click());
    expect(fake.callsTo("teams:create")).toEqual([{ name: "Infra" }]);
    expect(screen.queryByRole("form", { name: "New team" })).not.toBeInTheDocument();
  });

  it("shows a member the team without the admin controls", async () => {
    renderTeam({
      teams: TEAMS_AS_MEMBER,
      members: [
        { ...MEMBERS[0]!, you: false },
        { ...MEMBERS[2]!, email: "bob@example.com", you: true },
      ],
    });
    expect(await screen.findByRole("heading", { name: "Platform" })).toBeInTheDocument();
    expect(screen.queryByRole("combobox", { name: /^Role of/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Remove/ })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Leave Platform" })).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Invite someone" })).not.toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Pending invitations" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Unlink acme" })).not.toBeInTheDocument();
    expect(screen.getByText("Only the team's owners and admins invite people and change roles.")).toBeInTheDocument();
  });

  it("shows the error state when the members query fails", async () => {
    const { fake } = renderApp("/team");
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    act(() => {
      fake.setQuery("teams:mine", TEAMS);
      fake.setQuery("teams:members", new Error("Server Error Uncaught Error: boom"));
    });
    expect(await screen.findByText("Something went wrong")).toBeInTheDocument();
    vi.restoreAllMocks();
  });
});
