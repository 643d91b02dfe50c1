#include "join.cpp"

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
    CHECK(join({"a", "b"}, " | ") == "a | b");
    CHECK(join({"a", "b", "c"}) == "a,b,c");
    CHECK(csv_row({"x", "y"}) == "x,y\n");
    CHECK(join({}, "-").empty());
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
