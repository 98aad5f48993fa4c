/// mimalloc instead of glibc's malloc: glibc gives threads that contend an arena each (up
/// to eight per core, and the SQLite driver runs a thread per connection), and memory freed
/// in one arena is not reused by another. Under the load harness the server's peak RSS was
/// 95–101 MiB with glibc and 72–85 MiB with mimalloc, at the same throughput
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::cli::main()
}
