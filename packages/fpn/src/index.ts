export const PACKAGE_NAME = '@hpf/fpn';
