/** Role names for RBAC: short tokens without spaces, so they read well in a JWT claim. */
const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/

export const isRoleName = (role: string): boolean => ROLE.test(role)
