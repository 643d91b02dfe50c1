#include "queue.cpp"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

static int failures = 0;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            std::cout << "FAIL line " << __LINE__ << ": " #cond "\n"; \
            ++failures;                                               \
        }                                                             \
    } while (0)

static std::string read_file(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int main() {
    std::ostringstream captured;
    std::streambuf* old_out = std::cout.rdbuf(captured.rdbuf());
    std::streambuf* old_err = std::cerr.rdbuf(captured.rdbuf());
    JobQueue q;
    q.push("build");
    q.push("test");
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    CHECK(captured.str().empty());
    CHECK(q.size() == 2);
    CHECK(q.pop() == "build");
    CHECK(q.pop() == "test");
    CHECK(q.pop().empty());
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
