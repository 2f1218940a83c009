/**
 * @module A seccomp deny-list as a classic BPF program, in the raw `struct sock_filter[]` form that
 * bubblewrap's `--seccomp FD` loads. Built here rather than with libseccomp so the sandbox needs no
 * compiler or extra package; the program is small enough to read.
 *
 * It allows every syscall except those that reconfigure the kernel or escape the sandbox's
 * namespaces (mount, unshare/setns, new user namespaces, ptrace, bpf, keyrings, io_uring, module
 * and kexec loading, clock changes, …), which fail with EPERM. Foreign ABIs (x32, i386) are
 * refused outright, since syscall numbers differ there and a deny-list for one ABI says nothing
 * about another.
 */

/** AUDIT_ARCH_X86_64: the only ABI this filter knows the numbers of. */
const AUDIT_ARCH_X86_64 = 0xc000003e
const X32_SYSCALL_BIT = 0x40000000
const CLONE_NEWUSER = 0x10000000

// BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
const BPF_LD_W_ABS = 0x20
const BPF_JEQ_K = 0x15
const BPF_JGE_K = 0x35
const BPF_JSET_K = 0x45
const BPF_RET_K = 0x06
const SECCOMP_RET_KILL_PROCESS = 0x80000000
const SECCOMP_RET_ERRNO = 0x00050000
const SECCOMP_RET_ALLOW = 0x7fff0000
const EPERM = 1
const ENOSYS = 38

// Offsets in struct seccomp_data.
const OFFSET_NR = 0
const OFFSET_ARCH = 4
const OFFSET_ARG0_LOW = 16

/** x86_64 syscall numbers that fail with EPERM inside a sandbox. */
export const DENIED_SYSCALLS: Readonly<Record<string, number>> = {
  acct: 163,
  add_key: 248,
  adjtimex: 159,
  bpf: 321,
  clock_adjtime: 305,
  clock_settime: 227,
  create_module: 174,
  delete_module: 176,
  finit_module: 313,
  fsconfig: 431,
  fsmount: 432,
  fsopen: 430,
  fspick: 433,
  get_kernel_syms: 177,
  init_module: 175,
  io_uring_enter: 426,
  io_uring_register: 427,
  io_uring_setup: 425,
  ioperm: 173,
  iopl: 172,
  kexec_file_load: 320,
  kexec_load: 246,
  keyctl: 250,
  lookup_dcookie: 212,
  mount: 165,
  mount_setattr: 442,
  move_mount: 429,
  name_to_handle_at: 303,
  nfsservctl: 180,
  open_by_handle_at: 304,
  open_tree: 428,
  perf_event_open: 298,
  pivot_root: 155,
  process_vm_readv: 310,
  process_vm_writev: 311,
  ptrace: 101,
  query_module: 178,
  quotactl: 179,
  reboot: 169,
  request_key: 249,
  setns: 308,
  settimeofday: 164,
  swapoff: 168,
  swapon: 167,
  syslog: 103,
  umount2: 166,
  unshare: 272,
  uselib: 134,
  userfaultfd: 323,
  vhangup: 153,
}
const CLONE = 56
/** clone3 passes its flags in memory the filter cannot read: ENOSYS makes libc fall back to clone. */
const CLONE3 = 435

interface Instruction {
  readonly code: number
  readonly jt: number
  readonly jf: number
  readonly k: number
}

const op = (code: number, k: number, jt = 0, jf = 0): Instruction => ({ code, jt, jf, k })

/** The filter as bytes: 8 bytes per instruction (u16 code, u8 jt, u8 jf, u32 k), little endian. */
export function buildSeccompFilter(): Buffer {
  const denied = Object.values(DENIED_SYSCALLS)
  // Layout: [arch check][nr load][x32 check][clone3][clone + flags][deny list][allow][eperm][enosys][kill]
  const program: Instruction[] = []
  const tail = (): { allow: number; eperm: number; enosys: number; kill: number } => {
    const base = 3 + 1 + 4 + denied.length
    return { allow: base, eperm: base + 1, enosys: base + 2, kill: base + 3 }
  }
  const t = tail()
  const jumpTo = (target: number): number => {
    const offset = target - program.length - 1
    if (offset < 0 || offset > 255) {
      throw new Error(`seccomp jump of ${offset} does not fit`)
    }
    return offset
  }
  program.push(op(BPF_LD_W_ABS, OFFSET_ARCH))
  program.push(op(BPF_JEQ_K, AUDIT_ARCH_X86_64, 0, jumpTo(t.kill)))
  program.push(op(BPF_LD_W_ABS, OFFSET_NR))
  program.push(op(BPF_JGE_K, X32_SYSCALL_BIT, jumpTo(t.kill), 0))
  program.push(op(BPF_JEQ_K, CLONE3, jumpTo(t.enosys), 0))
  // clone(flags, …): a new user namespace would hand the function capabilities over fresh
  // namespaces; every other clone (threads, fork) is fine.
  program.push(op(BPF_JEQ_K, CLONE, 0, 2))
  program.push(op(BPF_LD_W_ABS, OFFSET_ARG0_LOW))
  program.push(op(BPF_JSET_K, CLONE_NEWUSER, jumpTo(t.eperm), jumpTo(t.allow)))
  for (const nr of denied) {
    program.push(op(BPF_JEQ_K, nr, jumpTo(t.eperm), 0))
  }
  program.push(op(BPF_RET_K, SECCOMP_RET_ALLOW))
  program.push(op(BPF_RET_K, SECCOMP_RET_ERRNO | EPERM))
  program.push(op(BPF_RET_K, SECCOMP_RET_ERRNO | ENOSYS))
  program.push(op(BPF_RET_K, SECCOMP_RET_KILL_PROCESS))
  if (program.length !== t.kill + 1) {
    throw new Error('seccomp program layout is inconsistent')
  }
  const bytes = Buffer.alloc(program.length * 8)
  program.forEach((ins, i) => {
    bytes.writeUInt16LE(ins.code, i * 8)
    bytes.writeUInt8(ins.jt, i * 8 + 2)
    bytes.writeUInt8(ins.jf, i * 8 + 3)
    bytes.writeUInt32LE(ins.k >>> 0, i * 8 + 4)
  })
  return bytes
}
