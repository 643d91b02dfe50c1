#include "totals.cpp"

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
    CHECK(sum_all({1, 2, 3}) == 6);
    CHECK(sum_all({5}) == 5);
    CHECK(sum_all({}) == 0);
    CHECK(count_positive({-1, 2, 3}) == 2);
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
